"""Index rows for a resource: every supported search parameter of its type, evaluated.

The store calls the indexer on each version it writes and keeps the rows in one table per
parameter kind. How a value of each FHIR type becomes rows follows R4 search
(https://hl7.org/fhir/R4/search.html), section by section: #token, #string, #date,
#reference, #quantity, #number, #uri. ``_id`` and ``_lastUpdated`` are not indexed: the
query side answers them from the resource table's own columns.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from isocenter.search.compartment import patient_compartments
from isocenter.search.dates import date_range, period_range
from isocenter.search.definitions import COLUMN_PARAMETERS, Registry
from isocenter.search.fhirpath import Evaluate, Typed, compile_expression, reference_parts
from isocenter.search.normalize import normalize_string
from isocenter.store.index_rows import IndexRows, Row

logger = logging.getLogger(__name__)

# Turns one parameter's values into rows; returns how many values it could not use.
_Convert = Callable[[str, list[Typed], list[Row]], int]

_QUANTITY_TYPES = frozenset(
    {"Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity", "MoneyQuantity"}
)
_NUMBER_TYPES = frozenset({"decimal", "integer", "positiveInt", "unsignedInt"})
_DATE_TYPES = frozenset({"date", "dateTime", "instant"})
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
# search.html#quantity: Money is searched with its currency as an ISO 4217 code.
_CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


@dataclass(frozen=True, eq=False)
class _Parameter:
    code: str
    kind: str
    evaluate: Evaluate
    convert: _Convert


@dataclass(frozen=True)
class _Plan:
    # Parameters by the top-level element their expressions start from; most resources
    # hold a few of the elements their type's parameters look at, so only those run.
    # Those that start from one element (most) need no check for repeats.
    single: dict[str, tuple[_Parameter, ...]]
    shared: dict[str, tuple[_Parameter, ...]]
    always: tuple[_Parameter, ...]
    compartment_params: frozenset[str]

    def parameters_for(self, resource: dict[str, Any]) -> list[_Parameter]:
        chosen = list(self.always)
        repeated: dict[_Parameter, None] = {}
        single, shared = self.single, self.shared
        for key in resource:
            found = single.get(key)
            if found is not None:
                chosen += found
            found = shared.get(key)
            if found is not None:
                repeated.update(dict.fromkeys(found))
        if repeated:
            chosen += repeated
        return chosen


class ResourceIndexer:
    """The store's Indexer: rows of every supported parameter, and compartment membership.

    Expressions are compiled once per resource type, on first use. ``skipped`` counts the
    values per (resource type, param) that could not be indexed (a malformed date, a
    quantity without a number); they are left out rather than failing the write.
    """

    def __init__(self, registry: Registry, fhir_base_url: str | None = None) -> None:
        self._registry = registry
        self._fhir_base_url = fhir_base_url
        self._plans: dict[str, _Plan] = {}
        self._converters = {**_CONVERTERS, "reference": _reference_converter(registry)}
        self.skipped: Counter[tuple[str, str]] = Counter()

    def __call__(self, resource: dict[str, Any]) -> IndexRows:
        resource_type = resource["resourceType"]
        plan = self._plans.get(resource_type) or self._plan(resource_type)
        rows = IndexRows()
        by_kind = rows.by_kind()
        for parameter in plan.parameters_for(resource):
            values = parameter.evaluate(resource)
            if not values:
                continue
            skipped = parameter.convert(parameter.code, values, by_kind[parameter.kind])
            if skipped:
                self._skip(resource_type, parameter.code, skipped)
        rows.patients = patient_compartments(
            resource, rows.reference, plan.compartment_params, self._fhir_base_url
        )
        return rows

    def _plan(self, resource_type: str) -> _Plan:
        single: dict[str, list[_Parameter]] = {}
        shared: dict[str, list[_Parameter]] = {}
        always: list[_Parameter] = []
        for parameter in self._registry.parameters(resource_type).values():
            if not parameter.supported or parameter.code in COLUMN_PARAMETERS:
                continue
            assert parameter.expression is not None
            compiled = compile_expression(parameter.expression, resource_type)
            evaluate = compiled.evaluate
            if not compiled.fast:
                logger.debug("%s.%s is evaluated by fhirpathpy", resource_type, parameter.code)
                evaluate = self._guarded(resource_type, parameter.code, evaluate)
            convert = self._converters[parameter.type]
            indexed = _Parameter(parameter.code, parameter.type, evaluate, convert)
            if compiled.keys is None:
                always.append(indexed)
                continue
            by_key = single if len(compiled.keys) == 1 else shared
            for key in compiled.keys:
                by_key.setdefault(key, []).append(indexed)
        compartment = frozenset(self._registry.compartment_params(resource_type))
        plan = _Plan(_tuples(single), _tuples(shared), tuple(always), compartment)
        self._plans[resource_type] = plan
        return plan

    def _guarded(self, resource_type: str, code: str, evaluate: Evaluate) -> Evaluate:
        """fhirpathpy raises where FHIRPath signals an error (``as`` on a collection, ...).

        A resource is not refused for that: the parameter indexes nothing for it, and the
        value is counted as skipped.
        """

        def guarded(resource: dict[str, Any]) -> list[Typed]:
            try:
                return evaluate(resource)
            except Exception:
                logger.debug("%s.%s: FHIRPath evaluation failed", resource_type, code)
                self._skip(resource_type, code, 1)
                return []

        return guarded

    def _skip(self, resource_type: str, code: str, count: int) -> None:
        self.skipped[(resource_type, code)] += count
        logger.debug("%s.%s: %d values not indexable", resource_type, code, count)


def _tuples(by_key: dict[str, list[_Parameter]]) -> dict[str, tuple[_Parameter, ...]]:
    return {key: tuple(found) for key, found in by_key.items()}


def make_indexer(registry: Registry, fhir_base_url: str | None = None) -> ResourceIndexer:
    """The Indexer for the store (store.index_rows.Indexer) over ``registry``'s parameters.

    With ``fhir_base_url``, absolute references under it count as local for compartments.
    """
    return ResourceIndexer(registry, fhir_base_url)


# -- token (search.html#token) ---------------------------------------------------------


def _token_rows(code: str, values: list[Typed], out: list[Row]) -> int:
    """Coding, CodeableConcept, Identifier, ContactPoint and primitive codes.

    ``text`` (normalized) feeds ``:text``: a Coding's display, a CodeableConcept's text, an
    Identifier's type text. ContactPoint.system (phone, email, ...) is not a code system, so
    a ContactPoint is its value alone, with no system.
    """
    seen: set[tuple[Any, ...]] = set()
    skipped = 0
    for type_name, value in values:
        if type(value) is dict:
            found = _token_parts(type_name, value)
            if found is None:
                skipped += 1
                continue
        elif type(value) is bool:
            found = [(None, "true" if value else "false", None)]
        elif type(value) is str:
            found = [(None, value, None)]
        else:
            skipped += 1
            continue
        for system, token, text in found:
            if (system, token, text) not in seen and (token or system or text):
                seen.add((system, token, text))
                out.append({"param": code, "system": system, "code": token, "text": text})
    return skipped


def _token_parts(type_name: str, value: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    if type_name == "CodeableConcept":
        parts = [_coding(coding) for coding in value.get("coding", ()) if type(coding) is dict]
        text = value.get("text")
        if type(text) is str:
            parts.append((None, None, normalize_string(text)))
        return parts
    if type_name == "Coding":
        return [_coding(value)]
    if type_name == "Identifier":
        type_text = (value.get("type") or {}).get("text")
        text = normalize_string(type_text) if type(type_text) is str else None
        return [(value.get("system"), value.get("value"), text)]
    if type_name == "ContactPoint":
        return [(None, value.get("value"), None)]
    return None


def _coding(coding: dict[str, Any]) -> tuple[Any, ...]:
    display = coding.get("display")
    text = normalize_string(display) if type(display) is str else None
    return coding.get("system"), coding.get("code"), text


# -- string (search.html#string) -------------------------------------------------------


def _string_rows(code: str, values: list[Typed], out: list[Row]) -> int:
    """Plain strings; every part of a HumanName and of an Address is a value of its own."""
    seen: set[str] = set()
    skipped = 0
    for type_name, value in values:
        if type(value) is str:
            strings: list[str] = [value]
        elif type_name == "HumanName" and type(value) is dict:
            strings = _parts(value, _NAME_PARTS)
        elif type_name == "Address" and type(value) is dict:
            strings = _parts(value, _ADDRESS_PARTS)
        else:
            skipped += 1
            continue
        for text in strings:
            if text not in seen:
                seen.add(text)
                out.append(
                    {"param": code, "value": text, "value_normalized": normalize_string(text)}
                )
    return skipped


def _parts(value: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    strings = []
    for name in names:
        part = value.get(name)
        if type(part) is str:
            strings.append(part)
        elif type(part) is list:
            strings.extend(item for item in part if type(item) is str)
    return strings


# -- date (search.html#date) -----------------------------------------------------------


def _date_rows(code: str, values: list[Typed], out: list[Row]) -> int:
    """date/dateTime/instant as their implicit range; Period; each event of a Timing.

    A Timing's repeat.boundsPeriod is indexed too: its outer limits are the dates it covers.
    """
    seen: set[tuple[int, int]] = set()
    skipped = 0
    for type_name, value in values:
        try:
            ranges = _date_ranges(type_name, value)
        except (ValueError, TypeError, AttributeError):
            skipped += 1
            continue
        if ranges is None:
            skipped += 1
            continue
        for start, end in ranges:
            if (start, end) not in seen:
                seen.add((start, end))
                out.append({"param": code, "start": start, "end": end})
    return skipped


def _date_ranges(type_name: str, value: Any) -> list[tuple[int, int]] | None:
    if type(value) is str:
        return [date_range(value)] if type_name in _DATE_TYPES else None
    if type_name == "Period":
        start, end = value.get("start"), value.get("end")
        if start is None and end is None:
            return []
        return [period_range(start, end)]
    if type_name == "Timing":
        ranges = [date_range(event) for event in value.get("event", ())]
        bounds = (value.get("repeat") or {}).get("boundsPeriod")
        if bounds:
            ranges.append(period_range(bounds.get("start"), bounds.get("end")))
        return ranges
    return None


# -- reference (search.html#reference) -------------------------------------------------


def _reference_converter(registry: Registry) -> _Convert:
    """Literal references by target type and id, absolute ones also by URL; canonicals by URL.

    An absolute URL gets a target type and id too when it ends in ``Type/id`` of a known
    type, so that the query side can match the server's own absolute URLs. Contained
    (``#id``) and identifier-only references have no target to index.
    """
    known = registry.resource_types()

    def targets(type_name: str, value: Any) -> list[tuple[Any, ...]] | None:
        """(target_type, target_id, url) rows; [] if nothing to index; None if unusable."""
        if type(value) is str:
            return _canonical_targets(value)
        if type(value) is not dict:
            return None
        if type_name != "Reference":
            # An element of type Resource (Bundle.entry[0].resource) is its own target.
            return [(type_name, value["id"], None)] if type(value.get("id")) is str else []

        reference = value.get("reference")
        if type(reference) is not str or reference.startswith("#"):
            return []
        parts = reference_parts(reference)
        if parts is not None and parts[0] not in known:
            parts = None
        if ":" in reference:
            return [(*parts, reference) if parts else (None, None, reference)]
        return [(*parts, None)] if parts else None

    def convert(code: str, values: list[Typed], out: list[Row]) -> int:
        seen: set[tuple[Any, ...]] = set()
        skipped = 0
        for type_name, value in values:
            found = targets(type_name, value)
            if found is None:
                skipped += 1
                continue
            for target in found:
                if target not in seen:
                    seen.add(target)
                    target_type, target_id, url = target
                    out.append(
                        {
                            "param": code,
                            "target_type": target_type,
                            "target_id": target_id,
                            "url": url,
                        }
                    )
        return skipped

    return convert


def _canonical_targets(canonical: str) -> list[tuple[Any, ...]]:
    """A canonical by its URL; one with ``|version`` by the URL alone as well.

    search.html#reference: a canonical is searched by its URL, or by ``url|version`` for
    one version; the bare URL row lets the first find every version.
    """
    url, bar, _ = canonical.partition("|")
    if not bar:
        return [(None, None, canonical)]
    return [(None, None, url), (None, None, canonical)]


# -- quantity (search.html#quantity) ---------------------------------------------------


def _quantity_rows(code: str, values: list[Typed], out: list[Row]) -> int:
    """Quantity and its kinds, Money and both ends of a Range.

    The code is Quantity.code, else the unit; when both are given and differ, the unit gets
    a row of its own so that ``value||unit`` searches find it too.
    """
    seen: set[tuple[Any, ...]] = set()
    skipped = 0
    for type_name, value in values:
        if type(value) is not dict:
            skipped += 1
            continue
        quantities = [value.get("low"), value.get("high")] if type_name == "Range" else [value]
        for quantity in quantities:
            found = _quantity_parts(type_name, quantity) if type(quantity) is dict else []
            if found is None:
                skipped += 1
                continue
            for row in found:
                if row not in seen:
                    seen.add(row)
                    out.append(
                        {"param": code, "system": row[0], "code": row[1], "value": row[2]}
                    )
    return skipped


def _quantity_parts(type_name: str, quantity: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    number = quantity.get("value")
    if type(number) not in (int, float):
        return None
    if type_name == "Money":
        return [(_CURRENCY_SYSTEM, quantity.get("currency"), float(number))]
    if type_name not in _QUANTITY_TYPES and type_name != "Range":
        return None
    unit, coded = quantity.get("unit"), quantity.get("code")
    rows = [(quantity.get("system"), coded if coded is not None else unit, float(number))]
    if coded is not None and unit is not None and unit != coded:
        rows.append((quantity.get("system"), unit, float(number)))
    return rows


# -- number and uri (search.html#number, search.html#uri) ------------------------------


def _number_rows(code: str, values: list[Typed], out: list[Row]) -> int:
    seen: set[float] = set()
    skipped = 0
    for type_name, value in values:
        if type(value) not in (int, float) or type_name not in _NUMBER_TYPES:
            skipped += 1
            continue
        if float(value) not in seen:
            seen.add(float(value))
            out.append({"param": code, "value": float(value)})
    return skipped


def _uri_rows(code: str, values: list[Typed], out: list[Row]) -> int:
    seen: set[str] = set()
    skipped = 0
    for _, value in values:
        if type(value) is not str:
            skipped += 1
            continue
        if value not in seen:
            seen.add(value)
            out.append({"param": code, "value": value})
    return skipped


_CONVERTERS: dict[str, _Convert] = {
    "token": _token_rows,
    "string": _string_rows,
    "date": _date_rows,
    "quantity": _quantity_rows,
    "number": _number_rows,
    "uri": _uri_rows,
}
