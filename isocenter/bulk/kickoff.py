"""The kick-off request: headers, parameters and access, checked in the spec's order.

Bulk Data 2.0, export.html#bulk-data-kick-off-request. ``Accept: application/fhir+json``
and ``Prefer: respond-async`` are required (400 otherwise). A parameter value the server
does not support answers 400 naming the parameter, unless the client sent
``Prefer: handling=lenient``: then it is ignored and the manifest's error file says so.
A patient-limited token may never start an export; the types exported are those the
token may read (an explicit ``_type`` the token may not read answers 403).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from isocenter.access import Access
from isocenter.bulk.plan import ExportPlan, Query
from isocenter.outcomes import (
    OperationOutcomeError,
    forbidden,
    invalid,
    invalid_parameter,
    not_found,
    not_supported,
)
from isocenter.store.instants import from_datetime

OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
# includeAssociatedData (export.html#query-parameters): the Provenance values are not
# offered; `_sharedResources` (a server-defined value) adds the Practitioner,
# Organization, Location, ... resources that the exported compartments refer to.
SHARED_RESOURCES = "_sharedResources"
PARAMETERS = frozenset(
    {
        "_outputFormat",
        "_since",
        "_until",
        "_type",
        "_elements",
        "_typeFilter",
        "patient",
        "includeAssociatedData",
    }
)
# `_typeFilter` holds comma-separated `Type?query` items; a comma inside a query value is
# percent-encoded, so an item starts where a comma is followed by `Type?`.
_TYPE_FILTER_SPLIT = re.compile(r",(?=[A-Z][A-Za-z]*\?)")
# Search result parameters have no meaning in a `_typeFilter` query.
_RESULT_PARAMETERS = frozenset(
    {"_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total"}
)

# (resource type, query, lenient) -> raises if the query is not a valid search.
QueryCheck = Callable[[str, Query, bool], None]
# Group id -> the Group resource, or None when unknown or deleted.
GroupReader = Callable[[str], dict[str, Any] | None]


@dataclass
class KickOff:
    """One kick-off request as received."""

    kind: str  # "system" | "patient" | "group"
    group_id: str | None
    headers: dict[str, str]
    params: list[tuple[str, str]]
    access: Access

    @property
    def lenient(self) -> bool:
        return "handling=lenient" in self.headers.get("prefer", "").replace(" ", "")


def parameters_from_body(body: bytes) -> list[tuple[str, str]]:
    """A POST kick-off's Parameters resource as name/value pairs (patient: its reference)."""
    try:
        resource = json.loads(body) if body.strip() else {"resourceType": "Parameters"}
    except ValueError:
        raise invalid("the request body is not JSON") from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
        raise invalid("a POST kick-off takes a Parameters resource")
    pairs = []
    for parameter in resource.get("parameter") or []:
        name = parameter.get("name")
        value = _parameter_value(parameter)
        if not isinstance(name, str) or value is None:
            raise invalid(f"parameter {name!r} has no value this server reads")
        pairs.append((name, value))
    return pairs


def _parameter_value(parameter: dict[str, Any]) -> str | None:
    for key, value in parameter.items():
        if key == "valueReference" and isinstance(value, dict):
            reference = value.get("reference")
            return reference if isinstance(reference, str) else None
        if key.startswith("value") and isinstance(value, str | bool | int):
            return str(value).lower() if isinstance(value, bool) else str(value)
    return None


def check_headers(headers: dict[str, str]) -> None:
    """export.html#headers: Accept application/fhir+json and Prefer respond-async."""
    accept = headers.get("accept", "")
    if "application/fhir+json" not in [
        part.split(";")[0].strip() for part in accept.split(",")
    ]:
        raise invalid("the kick-off request needs the header Accept: application/fhir+json")
    prefer = [part.strip() for part in headers.get("prefer", "").split(",")]
    if "respond-async" not in prefer:
        raise invalid("the kick-off request needs the header Prefer: respond-async")


def check_access(access: Access) -> None:
    if access.is_patient_limited:
        raise forbidden("a patient-limited access may not start a bulk export")


class PlanBuilder:
    """Turns a checked kick-off request into an ``ExportPlan``."""

    def __init__(
        self,
        resource_types: frozenset[str],
        check_query: QueryCheck,
        read_group: GroupReader,
        fhir_base_url: str,
    ) -> None:
        self.resource_types = resource_types
        self.check_query = check_query
        self.read_group = read_group
        self.fhir_base_url = fhir_base_url.rstrip("/")

    def build(self, request: KickOff) -> ExportPlan:
        check_headers(request.headers)
        check_access(request.access)
        lenient = request.lenient
        plan = ExportPlan(kind=request.kind, types=[], group_id=request.group_id)
        values = _collect(request.params, plan, lenient)
        self._output_format(values.get("_outputFormat"), plan, lenient)
        plan.since = _instant("_since", values.get("_since"), plan, lenient)
        plan.until = _instant("_until", values.get("_until"), plan, lenient)
        plan.types = self._types(values.get("_type"), request.access, plan, lenient)
        plan.elements = _elements(values.get("_elements"))
        self._type_filters(values.get("_typeFilter"), plan, lenient)
        self._associated(values.get("includeAssociatedData"), plan, lenient)
        self._patients(values.get("patient"), plan, lenient)
        self._restrictions(request.access, plan)
        return plan

    def _output_format(self, values: list[str] | None, plan: ExportPlan, lenient: bool) -> None:
        for value in values or []:
            if value not in OUTPUT_FORMATS:
                _refuse("_outputFormat", f"{value!r} is not supported", plan, lenient)

    def _types(
        self, values: list[str] | None, access: Access, plan: ExportPlan, lenient: bool
    ) -> list[str]:
        if not values:
            return sorted(t for t in self.resource_types if access.allows(t, "r"))
        asked = [name.strip() for value in values for name in value.split(",") if name.strip()]
        types: list[str] = []
        for name in asked:
            if name not in self.resource_types:
                _refuse("_type", f"unknown resource type {name!r}", plan, lenient)
                continue
            if not access.allows(name, "r"):
                raise forbidden(f"the granted scopes do not allow read on {name}")
            if name not in types:
                types.append(name)
        return types

    def _type_filters(self, values: list[str] | None, plan: ExportPlan, lenient: bool) -> None:
        for value in values or []:
            for item in _TYPE_FILTER_SPLIT.split(value):
                resource_type, _, query_text = item.partition("?")
                query = parse_qsl(query_text, keep_blank_values=True)
                if resource_type not in self.resource_types:
                    _refuse(
                        "_typeFilter", f"unknown resource type {resource_type!r}", plan, lenient
                    )
                    continue
                if resource_type not in plan.types:
                    continue  # export.html: a filter on a type not exported is not applied
                if not self._valid_filter(resource_type, query, plan, lenient):
                    continue
                plan.type_filters.setdefault(resource_type, []).append(query)

    def _valid_filter(
        self, resource_type: str, query: Query, plan: ExportPlan, lenient: bool
    ) -> bool:
        result = [name for name, _ in query if name.split(":")[0] in _RESULT_PARAMETERS]
        if result:
            _refuse("_typeFilter", f"{result[0]} is not allowed in a filter", plan, lenient)
            return False
        try:
            self.check_query(resource_type, query, False)
        except OperationOutcomeError as error:
            _refuse("_typeFilter", f"{resource_type}: {error.diagnostics}", plan, lenient)
            return False
        return True

    def _associated(self, values: list[str] | None, plan: ExportPlan, lenient: bool) -> None:
        for value in values or []:
            for name in (part.strip() for part in value.split(",")):
                if name == SHARED_RESOURCES and plan.compartment_limited:
                    plan.include_shared = True
                    continue
                _refuse("includeAssociatedData", f"{name!r} is not supported", plan, lenient)

    def _patients(self, values: list[str] | None, plan: ExportPlan, lenient: bool) -> None:
        if plan.kind == "group":
            members = self._members(plan.group_id or "")
            plan.patients = members
        if not values:
            return
        if plan.kind == "system":
            _refuse("patient", "only Patient and Group exports take patients", plan, lenient)
            return
        asked = [self._patient_id(value) for value in values]
        wanted = [p for p in dict.fromkeys(asked) if p is not None]
        if plan.patients is None:
            plan.patients = wanted
        else:
            plan.patients = [p for p in plan.patients if p in wanted]

    def _members(self, group_id: str) -> list[str]:
        """Group.member.entity references to Patients of this server, in order."""
        group = self.read_group(group_id)
        if group is None:
            raise not_found("Group", group_id)
        ids = []
        for member in group.get("member") or []:
            reference = (member.get("entity") or {}).get("reference")
            patient_id = self._patient_id(reference) if isinstance(reference, str) else None
            if patient_id is not None and not member.get("inactive", False):
                ids.append(patient_id)
        return list(dict.fromkeys(ids))

    def _patient_id(self, reference: str) -> str | None:
        local = reference.removeprefix(self.fhir_base_url + "/")
        kind, _, id = local.partition("/")
        return id if kind == "Patient" and id and "/" not in id else None

    def _restrictions(self, access: Access, plan: ExportPlan) -> None:
        for resource_type in plan.types:
            queries = access.restrictions(resource_type, "r")
            if queries:
                plan.restrictions[resource_type] = [list(query) for query in queries]


def _collect(
    params: list[tuple[str, str]], plan: ExportPlan, lenient: bool
) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in params:
        if name in ("_format", "_pretty"):
            continue
        if name not in PARAMETERS:
            _refuse(name, "is not a bulk export parameter", plan, lenient)
            continue
        values.setdefault(name, []).append(value)
    return values


def _instant(
    name: str, values: list[str] | None, plan: ExportPlan, lenient: bool
) -> int | None:
    if not values:
        return None
    try:
        moment = datetime.fromisoformat(values[-1].replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        _refuse(name, f"{values[-1]!r} is not a FHIR instant", plan, lenient)
        return None
    return from_datetime(moment)


def _elements(values: list[str] | None) -> list[str] | None:
    names = [n.strip() for value in values or [] for n in value.split(",") if n.strip()]
    return names or None


def _refuse(name: str, reason: str, plan: ExportPlan, lenient: bool) -> None:
    """400 naming the parameter, or under lenient handling a note for the error file."""
    if not lenient:
        if name in PARAMETERS:
            raise not_supported_parameter(name, reason)
        raise invalid_parameter(name, reason)
    plan.issues.append(f"parameter {name!r} ignored: {reason}")


def not_supported_parameter(name: str, reason: str) -> OperationOutcomeError:
    error = not_supported(f"parameter {name!r}: {reason}")
    error.expression = [name]
    return error
