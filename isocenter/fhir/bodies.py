"""Request bodies: media type, JSON, resourceType and element shapes (R4 http.html#update).

A body is refused with 415 when it is not JSON by media type and with 400 when it is
not a JSON object, names no or another resource type, or has a top-level element of the
wrong JSON kind (a string where the definition has an object, one value where it
repeats); the shapes come from the R4 StructureDefinitions (``data/element-shapes.json``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import orjson

from isocenter.outcomes import OperationOutcomeError, invalid

# http://hl7.org/fhir/R4/datatypes.html#id
ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")

_JSON_MEDIA_TYPES = {"application/fhir+json", "application/json", "application/json+fhir"}
_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "number": (int, float),
    "object": (dict,),
}


def unsupported_media_type(
    content_type: str, expected: str = "application/fhir+json"
) -> OperationOutcomeError:
    return OperationOutcomeError(
        415, "not-supported", f"request body must be {expected}, not {content_type!r}"
    )


def check_id(id: str) -> str:
    """Refuse a malformed logical id (400) before it reaches the store."""
    if ID_PATTERN.fullmatch(id) is None:
        raise invalid(f"malformed id {id!r}: ids are 1-64 of A-Z a-z 0-9 - .")
    return id


def check_media_type(content_type: str | None, accepted: set[str] = _JSON_MEDIA_TYPES) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in accepted:
        expected = " or ".join(
            sorted(accepted, key=lambda name: name != "application/fhir+json")
        )
        raise unsupported_media_type(content_type or "none", expected)


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise invalid("request body must be a JSON object (a FHIR resource)")
    return value


def parse_resource(
    content_type: str | None, body: bytes, resource_type: str | None
) -> dict[str, Any]:
    """A resource from a request body, checked for its type (when given) and shape."""
    check_media_type(content_type)
    resource = parse_json(body)
    named = resource.get("resourceType")
    if not isinstance(named, str):
        raise invalid("resourceType is missing or not a string", expression=["resourceType"])
    if resource_type is not None and named != resource_type:
        raise invalid(f"resourceType {named!r} does not match the URL's {resource_type!r}")
    check_shape(resource)
    return resource


def check_shape(resource: dict[str, Any]) -> None:
    """Refuse top-level elements of the wrong JSON kind (http://hl7.org/fhir/R4/json.html)."""
    resource_type = resource["resourceType"]
    if "id" in resource:
        if not isinstance(resource["id"], str):
            raise invalid("id must be a string", expression=[f"{resource_type}.id"])
        check_id(resource["id"])
    shapes = element_shapes().get(resource_type, {})
    for name, value in resource.items():
        shape = shapes.get(name)
        if shape is not None:
            _check_element(resource_type, name, value, shape)


def _check_element(resource_type: str, name: str, value: Any, shape: list[Any]) -> None:
    kind, repeats = shape
    expression = [f"{resource_type}.{name}"]
    if repeats:
        if not isinstance(value, list):
            raise invalid(f"{name} must be an array", expression=expression)
        values = value
    else:
        values = [value]
    for item in values:
        if isinstance(item, bool) and kind == "number":
            raise invalid(f"{name} must be a {kind}", expression=expression)
        if not isinstance(item, _KINDS[kind]):
            raise invalid(f"{name} must be a {kind}", expression=expression)


@cache
def element_shapes() -> dict[str, dict[str, list[Any]]]:
    text = resources.files("isocenter.fhir").joinpath("data/element-shapes.json").read_text()
    shapes: dict[str, dict[str, list[Any]]] = json.loads(text)["shapes"]
    return shapes
