"""The search parameter registry: which parameters each resource type has, and how.

Built from the official R4 and US Core 3.1.1 SearchParameter resources by
``tools/build_search_parameters.py`` into ``data/search-parameters.json`` (R4 search
https://hl7.org/fhir/R4/searchparameter.html). Nothing here is hand-written per
resource type: a parameter's FHIRPath expression decides what is indexed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

# The kinds that have an index table (store.schema.INDEX_TABLES).
INDEXED_TYPES = frozenset({"token", "string", "date", "reference", "quantity", "number", "uri"})

# Answered from the resource table's own columns, not from index rows.
COLUMN_PARAMETERS = frozenset({"_id", "_lastUpdated"})

# Parameters on these bases apply to every resource type (search.html#all); DomainResource
# ones to all but the resource types that are not DomainResources.
_ALL_TYPES_BASE = "Resource"
_DOMAIN_BASE = "DomainResource"
_NOT_DOMAIN_RESOURCES = frozenset({"Binary", "Bundle", "Parameters"})


@dataclass(frozen=True)
class SearchParameter:
    """One search parameter as it applies to one resource type."""

    code: str
    type: str
    resource_type: str
    expression: str | None
    targets: tuple[str, ...]
    url: str
    supported: bool


class Registry:
    """Search parameters by resource type and code, and the Patient compartment's params."""

    def __init__(
        self,
        resource_types: Iterable[str],
        parameters: Iterable[SearchParameter],
        compartment: Mapping[str, tuple[str, ...]],
    ) -> None:
        self._resource_types = frozenset(resource_types)
        self._compartment = dict(compartment)
        by_type: dict[str, dict[str, SearchParameter]] = {}
        for parameter in parameters:
            by_type.setdefault(parameter.resource_type, {})[parameter.code] = parameter
        self._parameters = {
            name: MappingProxyType(by_type.get(name, {})) for name in self._resource_types
        }

    def resource_types(self) -> frozenset[str]:
        return self._resource_types

    def parameters(self, resource_type: str) -> Mapping[str, SearchParameter]:
        """Every parameter of the type, the Resource/DomainResource ones included."""
        return self._parameters.get(resource_type, MappingProxyType({}))

    def get(self, resource_type: str, code: str) -> SearchParameter | None:
        return self.parameters(resource_type).get(code)

    def compartment_params(self, resource_type: str) -> tuple[str, ...]:
        """The params that put a resource of this type in a Patient compartment.

        From CompartmentDefinition-patient (compartmentdefinition-patient.html); empty for
        types that are not in the compartment.
        """
        return self._compartment.get(resource_type, ())


@functools.cache
def load_registry() -> Registry:
    """The registry built from the package's data file (read once per process)."""
    text = (
        resources.files(__package__)
        .joinpath("data/search-parameters.json")
        .read_text(encoding="utf-8")
    )
    return registry_from_data(json.loads(text))


def registry_from_data(data: Mapping[str, Any]) -> Registry:
    resource_types = data["resource_types"]
    parameters = [
        parameter
        for facts in data["parameters"]
        for parameter in _per_type(facts, resource_types)
    ]
    compartment = {name: tuple(params) for name, params in data["patient_compartment"].items()}
    return Registry(resource_types, parameters, compartment)


def _per_type(facts: Mapping[str, Any], resource_types: list[str]) -> list[SearchParameter]:
    expressions: Mapping[str, str | None] = facts["expression"]
    parameters = []
    for base in facts["base"]:
        for resource_type in _applies_to(base, resource_types):
            parameters.append(_parameter(facts, resource_type, expressions[base]))
    return parameters


def _applies_to(base: str, resource_types: list[str]) -> list[str]:
    if base == _ALL_TYPES_BASE:
        return resource_types
    if base == _DOMAIN_BASE:
        return [name for name in resource_types if name not in _NOT_DOMAIN_RESOURCES]
    return [base]


def _parameter(
    facts: Mapping[str, Any], resource_type: str, expression: str | None
) -> SearchParameter:
    code = facts["code"]
    kind = facts["type"]
    supported = code in COLUMN_PARAMETERS or (kind in INDEXED_TYPES and expression is not None)
    return SearchParameter(
        code=code,
        type=kind,
        resource_type=resource_type,
        expression=expression,
        targets=tuple(facts["target"]),
        url=facts["url"],
        supported=supported,
    )
