"""JSON-shape checks for incoming resources, before anything is stored.

What is checked, and from where (R4 JSON representation, http://hl7.org/fhir/R4/json.html):

- ``resourceType`` is a string naming a resource type the registry knows; ``id`` (when
  given) is a string matching the R4 id rule ``[A-Za-z0-9\\-\\.]{1,64}`` (datatypes.html#id).
- Every element's JSON type, at any depth (contained resources, extensions, backbone
  elements, choice types such as ``valueQuantity``), against the element types of the
  official R4 model: ``path2Type.json`` as shipped by fhirpathpy (generated from the R4
  StructureDefinitions). Primitives must be JSON strings, booleans or numbers as their
  FHIR type says (json.html#primitive); complex types and backbone elements objects;
  ``_element`` primitive extensions objects (or arrays of objects and nulls). So
  ``meta`` must be an object and ``Reference.reference`` a string, wherever they occur.
- Elements the model does not know are rejected (json.html: unknown elements are errors).
- Cardinality is not in that model, so it is checked for a small documented set of
  elements: ``ARRAY_ELEMENTS`` (R4 max ``*``: the value must be an array) and
  ``SINGLE_ELEMENTS`` (R4 max 1: it must not be). A test checks both sets against the
  ``base.max`` of the US Core 3.1.1 StructureDefinition snapshots.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache
from importlib import resources as package_files
from typing import Any

import orjson

from isocenter.outcomes import invalid

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")

# Element paths (type or backbone path, then element name) whose R4 max is "*".
ARRAY_ELEMENTS = frozenset(
    {
        "Element.extension",
        "BackboneElement.modifierExtension",
        "DomainResource.contained",
        "DomainResource.modifierExtension",
        "Meta.profile",
        "Meta.security",
        "Meta.tag",
        "CodeableConcept.coding",
        "HumanName.given",
        "HumanName.prefix",
        "HumanName.suffix",
        "Address.line",
        "Timing.event",
        "Patient.identifier",
        "Patient.name",
        "Patient.telecom",
        "Patient.address",
        "Patient.contact",
        "Patient.communication",
        "Patient.generalPractitioner",
        "Patient.link",
        "Observation.identifier",
        "Observation.category",
        "Observation.performer",
        "Observation.interpretation",
        "Observation.note",
        "Observation.referenceRange",
        "Observation.hasMember",
        "Observation.derivedFrom",
        "Observation.component",
        "Condition.identifier",
        "Condition.category",
        "Condition.bodySite",
        "Condition.stage",
        "Condition.evidence",
        "Condition.note",
        "Encounter.identifier",
        "Encounter.type",
        "Encounter.participant",
        "Encounter.reasonCode",
        "Encounter.diagnosis",
        "Encounter.location",
    }
)

# Element paths whose R4 max is 1: their value must not be an array.
SINGLE_ELEMENTS = frozenset(
    {
        "Resource.id",
        "Resource.meta",
        "Resource.implicitRules",
        "Resource.language",
        "DomainResource.text",
        "Element.id",
        "Extension.url",
        "Meta.versionId",
        "Meta.lastUpdated",
        "Meta.source",
        "Reference.reference",
        "Reference.type",
        "Reference.identifier",
        "Reference.display",
        "Coding.system",
        "Coding.version",
        "Coding.code",
        "Coding.display",
        "CodeableConcept.text",
        "Identifier.system",
        "Identifier.value",
        "Period.start",
        "Period.end",
        "Quantity.value",
        "Quantity.unit",
        "Quantity.system",
        "Quantity.code",
        "Narrative.status",
        "Narrative.div",
    }
)

# How an element's value must look in JSON (json.html#primitive).
_STRING, _BOOLEAN, _INTEGER, _DECIMAL, _RESOURCE, _OBJECT = range(6)
_KIND_OF_PRIMITIVE = {
    "boolean": _BOOLEAN,
    "integer": _INTEGER,
    "positiveInt": _INTEGER,
    "unsignedInt": _INTEGER,
    "decimal": _DECIMAL,
    **dict.fromkeys(
        (
            "System.String",
            "string",
            "code",
            "id",
            "uri",
            "url",
            "canonical",
            "oid",
            "uuid",
            "markdown",
            "base64Binary",
            "date",
            "dateTime",
            "instant",
            "time",
            "xhtml",
        ),
        _STRING,
    ),
}
_EXPECTED = {
    _STRING: "a string",
    _BOOLEAN: "a JSON boolean",
    _INTEGER: "a JSON integer",
    _DECIMAL: "a JSON number",
    _RESOURCE: "a resource (JSON object)",
    _OBJECT: "an object",
}
# Cardinality as far as ARRAY_ELEMENTS / SINGLE_ELEMENTS tell.
_UNKNOWN, _ARRAY, _SINGLE = range(3)
# (FHIR type or backbone path, JSON kind, cardinality)
_Element = tuple[str, int, int]


class _Model:
    """Element types of the R4 model, looked up by (type or backbone path, element name)."""

    def __init__(self) -> None:
        folder = package_files.files("fhirpathpy") / "models" / "r4"
        self.path_type: dict[str, str] = orjson.loads((folder / "path2Type.json").read_bytes())
        self.elsewhere: dict[str, str] = orjson.loads(
            (folder / "pathsDefinedElsewhere.json").read_bytes()
        )
        self.parent: dict[str, str] = orjson.loads((folder / "type2Parent.json").read_bytes())
        self.backbones = {
            path.rsplit(".", 1)[0] for path in self.path_type if path.count(".") >= 2
        }
        self._owners: dict[str, dict[str, _Element | None]] = {}

    def elements(self, owner: str) -> dict[str, _Element | None]:
        """The owner's elements seen so far, filled in by ``element`` (a cache)."""
        found = self._owners.get(owner)
        if found is None:
            found = self._owners[owner] = {}
        return found

    def element(self, owner: str, name: str) -> _Element | None:
        elements = self.elements(owner)
        if name not in elements:
            fhir_type = self._find(owner, name)
            elements[name] = (
                None
                if fhir_type is None
                else (fhir_type, self._kind(fhir_type), self._cardinality(owner, name))
            )
        return elements[name]

    def _find(self, owner: str, name: str) -> str | None:
        path = f"{owner}.{name}"
        if path in self.elsewhere:
            return self.elsewhere[path]
        if path in self.path_type:
            return self.path_type[path]
        if path in self.backbones:
            return path
        if owner in self.parent:
            return self._find(self.parent[owner], name)
        if "." in owner:
            # Backbone elements inherit id/extension/modifierExtension.
            return self._find("BackboneElement", name)
        return None

    @staticmethod
    def _kind(fhir_type: str) -> int:
        if fhir_type == "Resource":
            return _RESOURCE
        return _KIND_OF_PRIMITIVE.get(fhir_type, _OBJECT)

    def _cardinality(self, owner: str, name: str) -> int:
        path = f"{owner}.{name}"
        if path in ARRAY_ELEMENTS:
            return _ARRAY
        if path in SINGLE_ELEMENTS:
            return _SINGLE
        parent = self.parent.get(owner) or ("BackboneElement" if "." in owner else None)
        return _UNKNOWN if parent is None else self._cardinality(parent, name)


@cache
def _model() -> _Model:
    return _Model()


class _ShapeError(Exception):
    """A wrong element, with its path collected (innermost first) while unwinding."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.segments: list[str] = []

    def at(self, segment: str) -> _ShapeError:
        self.segments.append(segment)
        return self

    def path(self) -> str:
        return "".join(reversed(self.segments)).lstrip(".")


def parse_resource(raw: bytes | str, resource_types: Collection[str]) -> dict[str, Any]:
    """Parse JSON text and check it is a resource of a known type with valid element types."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"invalid JSON: {exc}") from exc
    check_resource(value, resource_types)
    resource: dict[str, Any] = value
    return resource


def check_resource(
    value: Any, resource_types: Collection[str], where: str = ""
) -> list[dict[str, Any]]:
    """Raise ``invalid`` (400) naming the element if ``value`` is not a well-shaped resource.

    Returns the Reference elements (with a ``reference``) found on the way, contained
    resources' included, so that callers resolving references need not walk it again.
    """
    references: list[dict[str, Any]] = []
    try:
        _check_resource(value, resource_types, references)
    except _ShapeError as error:
        inner = error.path()
        root = where or _type_name(value)
        path = f"{root}.{inner}" if root and inner else root or inner or "resource"
        raise invalid(f"{path}: {error.problem}", expression=[path]) from None
    return references


def _type_name(value: Any) -> str:
    name = value.get("resourceType") if isinstance(value, dict) else None
    return name if isinstance(name, str) else ""


def _check_resource(
    value: Any, resource_types: Collection[str], references: list[dict[str, Any]]
) -> None:
    if not isinstance(value, dict):
        raise _ShapeError("a resource must be a JSON object")
    resource_type = value.get("resourceType")
    if resource_type is None:
        raise _ShapeError("resourceType is missing")
    if not isinstance(resource_type, str):
        raise _ShapeError("must be a string").at("resourceType")
    if resource_type not in resource_types:
        raise _ShapeError(f"unknown resource type {resource_type!r}")
    resource_id = value.get("id")
    if resource_id is not None and not (
        isinstance(resource_id, str) and ID_PATTERN.fullmatch(resource_id)
    ):
        raise _ShapeError(f"{resource_id!r} is not a valid id ([A-Za-z0-9-.]{{1,64}})").at(
            ".id"
        )
    _check_object(value, resource_type, resource_types, references, is_resource=True)


def _check_object(
    value: dict[str, Any],
    owner: str,
    resource_types: Collection[str],
    references: list[dict[str, Any]],
    *,
    is_resource: bool = False,
) -> None:
    model = _model()
    known = model.elements(owner)
    for name, item in value.items():
        element = known.get(name) or model.element(owner, name)
        if element is None:
            if is_resource and name == "resourceType":
                continue
            if name.startswith("_"):
                _check_primitive_extension(item, owner, name, resource_types, references)
                continue
            raise _ShapeError("unknown element").at(f".{name}")
        fhir_type, kind, cardinality = element
        if type(item) is list:
            if cardinality == _SINGLE:
                raise _ShapeError("must not be an array").at(f".{name}")
            for index, entry in enumerate(item):
                try:
                    _check_value(entry, fhir_type, kind, resource_types, references)
                except _ShapeError as error:
                    raise error.at(f".{name}[{index}]") from None
            continue
        if cardinality == _ARRAY:
            raise _ShapeError("must be an array").at(f".{name}")
        try:
            _check_value(item, fhir_type, kind, resource_types, references)
        except _ShapeError as error:
            raise error.at(f".{name}") from None


def _check_value(
    value: Any,
    fhir_type: str,
    kind: int,
    resource_types: Collection[str],
    references: list[dict[str, Any]],
) -> None:
    if kind == _STRING:
        if type(value) is not str:
            raise _ShapeError(f"must be {_EXPECTED[kind]}")
    elif kind == _OBJECT:
        if type(value) is not dict:
            raise _ShapeError(f"must be {_EXPECTED[kind]}")
        if fhir_type == "Reference" and type(value.get("reference")) is str:
            references.append(value)
        _check_object(value, fhir_type, resource_types, references)
    elif kind == _RESOURCE:
        _check_resource(value, resource_types, references)
    elif not _primitive_fits(value, kind):
        raise _ShapeError(f"must be {_EXPECTED[kind]}")


def _primitive_fits(value: Any, kind: int) -> bool:
    if kind == _BOOLEAN:
        return type(value) is bool
    if kind == _INTEGER:
        return type(value) is int
    return type(value) is int or type(value) is float


def _check_primitive_extension(
    value: Any,
    owner: str,
    name: str,
    resource_types: Collection[str],
    references: list[dict[str, Any]],
) -> None:
    element = _model().element(owner, name[1:])
    if element is None or element[1] not in (_STRING, _BOOLEAN, _INTEGER, _DECIMAL):
        raise _ShapeError("not the extension of a primitive element").at(f".{name}")
    items = value if type(value) is list else [value]
    for index, item in enumerate(items):
        if item is None and type(value) is list:
            continue
        segment = f".{name}[{index}]" if type(value) is list else f".{name}"
        if type(item) is not dict:
            raise _ShapeError("must be an object").at(segment)
        try:
            _check_object(item, "Element", resource_types, references)
        except _ShapeError as error:
            raise error.at(segment) from None
