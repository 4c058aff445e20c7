"""``_summary`` and ``_elements`` (R4 search.html#summary, search.html#elements).

Both act on top-level elements. ``id``, ``meta`` and the type's mandatory elements are
always kept; a subsetted resource carries the SUBSETTED tag in ``meta.tag`` so that
nobody mistakes it for the whole resource. Summary elements are the R4 definitions'
``isSummary`` elements (``data/summary-elements.json``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from isocenter.outcomes import invalid_parameter

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
SUMMARY_VALUES = ("true", "text", "data", "count", "false")
_ALWAYS = ("resourceType", "id", "meta")


@cache
def _facts() -> dict[str, dict[str, list[str]]]:
    path = resources.files("isocenter.fhir").joinpath("data/summary-elements.json")
    facts: dict[str, dict[str, list[str]]] = json.loads(path.read_text())
    return facts


def summary_elements(resource_type: str) -> frozenset[str]:
    return frozenset(_facts()["summary"].get(resource_type, ()))


def mandatory_elements(resource_type: str) -> frozenset[str]:
    return frozenset(_facts()["mandatory"].get(resource_type, ()))


def check_summary(value: str | None) -> str | None:
    if value is not None and value not in SUMMARY_VALUES:
        raise invalid_parameter("_summary", f"must be one of {', '.join(SUMMARY_VALUES)}")
    return value


def parse_elements(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    return names or None


def is_subsetting(summary: str | None, elements: list[str] | None) -> bool:
    return elements is not None or summary in ("true", "text", "data")


def subset(
    resource: dict[str, Any], summary: str | None, elements: list[str] | None
) -> dict[str, Any]:
    """The resource reduced as ``_summary``/``_elements`` ask, tagged SUBSETTED."""
    resource_type = resource.get("resourceType", "")
    keep = _kept(resource_type, summary, elements)
    if keep is None:
        return resource
    reduced = {name: value for name, value in resource.items() if _keeps(keep, name)}
    if summary == "data":
        reduced.pop("text", None)
    meta = dict(reduced.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    reduced["meta"] = meta
    return reduced


def _kept(resource_type: str, summary: str | None, elements: list[str] | None) -> Any:
    """The names to keep, or a marker for "all but text", or None for no change."""
    always = {*_ALWAYS, *mandatory_elements(resource_type)}
    if elements is not None:
        return always | {_choice_stem(name) for name in elements} | set(elements)
    if summary == "true":
        return always | summary_elements(resource_type)
    if summary == "text":
        return always | {"text"}
    if summary == "data":
        return "all"
    return None


def _keeps(keep: Any, name: str) -> bool:
    if keep == "all":
        return True
    if name in keep:
        return True
    # `_elements=value` names the choice element; the JSON has valueQuantity etc.
    return any(
        name.startswith(stem) and name[len(stem) : len(stem) + 1].isupper() for stem in keep
    )


def _choice_stem(name: str) -> str:
    return name.removesuffix("[x]")
