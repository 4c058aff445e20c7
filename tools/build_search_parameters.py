"""Build isocenter/search/data/search-parameters.json from the official FHIR packages.

Reads the R4 core SearchParameter bundle and Patient CompartmentDefinition
(hl7.fhir.r4.core#4.0.1) and the US Core 3.1.1 SearchParameters (hl7.fhir.us.core#3.1.1),
and keeps only the facts the server needs: code, type, bases, the expression for each base,
targets, url and derivedFrom, plus the Patient compartment's parameters and the list of
resource types. The ``source`` block names the packages and the sha256 of every input file.

Usage: python tools/build_search_parameters.py [DEFINITIONS_DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from isocenter.search.fhirpath import split_union

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEFINITIONS = REPO.parent / "shared" / "data" / "definitions"
DEFAULT_OUTPUT = REPO / "isocenter" / "search" / "data" / "search-parameters.json"

R4_PACKAGE = "hl7.fhir.r4.core#4.0.1"
US_CORE_PACKAGE = "hl7.fhir.us.core#3.1.1"
R4_PARAMETERS = "r4-core/search-parameters.json"
R4_PATIENT_COMPARTMENT = "r4-core/CompartmentDefinition-patient.json"
US_CORE_GLOB = "us-core-3.1.1/SearchParameter-*.json"

# Parameters defined on these apply to every resource type (DomainResource: all but the
# three that are not DomainResources).
ABSTRACT_BASES = ("Resource", "DomainResource")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("definitions", nargs="?", type=Path, default=DEFAULT_DEFINITIONS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    arguments = parser.parse_args()
    write(build(arguments.definitions), arguments.output)


def build(definitions: Path) -> dict[str, Any]:
    """The data file's content, from the package files under ``definitions``."""
    inputs = [definitions / R4_PARAMETERS, definitions / R4_PATIENT_COMPARTMENT]
    us_core_files = sorted(definitions.glob(US_CORE_GLOB))
    inputs += us_core_files

    core = [entry["resource"] for entry in _read(inputs[0])["entry"]]
    compartment = _read(inputs[1])
    parameters = [_facts(resource, R4_PACKAGE) for resource in core]
    parameters += _us_core_additions(parameters, [_read(path) for path in us_core_files])

    return {
        "source": {
            "packages": [R4_PACKAGE, US_CORE_PACKAGE],
            "files": {
                path.relative_to(definitions).as_posix(): _sha256(path) for path in inputs
            },
        },
        "resource_types": _resource_types(compartment, parameters),
        "patient_compartment": _compartment_params(compartment),
        "parameters": parameters,
    }


def write(data: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _facts(resource: dict[str, Any], package: str) -> dict[str, Any]:
    bases: list[str] = resource["base"]
    expression = resource.get("expression")
    return {
        "url": resource["url"],
        "code": resource["code"],
        "type": resource["type"],
        "base": bases,
        "expression": {base: _expression_for(expression, base, bases) for base in bases},
        "target": resource.get("target", []),
        "derived_from": resource.get("derivedFrom"),
        "package": package,
    }


def _us_core_additions(
    core: list[dict[str, Any]], us_core: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """US Core parameters that the base spec does not already define for the same type.

    Most US Core 3.1.1 parameters restate a base one (same code, ``derivedFrom`` set); those
    would only duplicate it. The rest (Patient ``race`` and ``ethnicity``) are added.
    """
    known = {(base, parameter["code"]) for parameter in core for base in parameter["base"]}
    abstract = {
        parameter["code"] for parameter in core if parameter["base"][0] in ABSTRACT_BASES
    }
    additions = []
    for resource in us_core:
        bases = resource["base"]
        restated = resource["code"] in abstract or all(
            (b, resource["code"]) in known for b in bases
        )
        if not restated:
            additions.append(_facts(resource, US_CORE_PACKAGE))
    return additions


def _expression_for(expression: str | None, base: str, bases: list[str]) -> str | None:
    """The part of a union expression that applies to ``base``.

    Split on top-level `` | ``; keep the parts that start with ``<base>.`` or ``(<base>.``
    and those on Resource/DomainResource. R4 has one parameter whose expression has no type
    at all (InsurancePlan-name: ``name | alias``); with a single base, such parts are read
    as paths from that base.
    """
    if expression is None:
        return None
    kept = []
    for part in split_union(expression):
        if (
            part == base
            or _starts_with_type(part, base)
            or any(_starts_with_type(part, a) for a in ABSTRACT_BASES)
        ):
            kept.append(part)
        elif len(bases) == 1 and part[:1].islower():
            kept.append(f"{base}.{part}")
    return " | ".join(kept) or None


def _starts_with_type(part: str, type_name: str) -> bool:
    return part.startswith((f"{type_name}.", f"({type_name}."))


def _resource_types(compartment: dict[str, Any], parameters: list[dict[str, Any]]) -> list[str]:
    listed = {entry["code"] for entry in compartment["resource"]}
    bases = {base for parameter in parameters for base in parameter["base"]}
    return sorted((listed | bases) - set(ABSTRACT_BASES))


def _compartment_params(compartment: dict[str, Any]) -> dict[str, list[str]]:
    return {
        entry["code"]: entry["param"] for entry in compartment["resource"] if entry.get("param")
    }


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    main()
