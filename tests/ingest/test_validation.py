"""JSON-shape checks (R4 json.html): types from the R4 model, a documented cardinality set."""

from __future__ import annotations

import json
from typing import Any

import pytest

from isocenter.ingest.validation import (
    ARRAY_ELEMENTS,
    SINGLE_ELEMENTS,
    check_resource,
    parse_resource,
)
from isocenter.outcomes import OperationOutcomeError
from tests.conftest import SHARED_DATA

TYPES = frozenset({"Patient", "Observation", "Condition", "Provenance", "Bundle"})


def problem(resource: Any) -> str:
    with pytest.raises(OperationOutcomeError) as raised:
        check_resource(resource, TYPES)
    assert raised.value.status == 400
    assert raised.value.code == "invalid"
    return raised.value.diagnostics


@pytest.mark.parametrize(
    ("resource", "diagnostics"),
    [
        ({"resourceType": "Patient", "id": 7}, "Patient.id: 7 is not a valid id"),
        ({"resourceType": "Patient", "id": "a/b"}, "Patient.id: 'a/b' is not a valid id"),
        ({"resourceType": "Patient", "id": "x" * 65}, "is not a valid id"),
        ({"resourceType": "Patient", "meta": "1"}, "Patient.meta: must be an object"),
        ({"resourceType": "Patient", "meta": [{}]}, "Patient.meta: must not be an array"),
        (
            {"resourceType": "Patient", "name": {"family": "A"}},
            "Patient.name: must be an array",
        ),
        (
            {"resourceType": "Patient", "active": "true"},
            "Patient.active: must be a JSON boolean",
        ),
        ({"resourceType": "Patient", "multipleBirthInteger": 1.5}, "must be a JSON integer"),
        ({"resourceType": "Patient", "birthDate": 1990}, "Patient.birthDate: must be a string"),
        ({"resourceType": "Patient", "colour": "blue"}, "Patient.colour: unknown element"),
        ({"resourceType": ["Patient"]}, "resourceType: must be a string"),
        ({"id": "x"}, "resourceType is missing"),
        ({"resourceType": "Spaceship"}, "unknown resource type 'Spaceship'"),
        ([], "a resource must be a JSON object"),
        (
            {"resourceType": "Observation", "subject": {"reference": 5}},
            "Observation.subject.reference: must be a string",
        ),
        (
            {
                "resourceType": "Observation",
                "extension": [{"url": "u", "valueReference": {"reference": ["Patient/1"]}}],
            },
            "Observation.extension[0].valueReference.reference: must not be an array",
        ),
        (
            {"resourceType": "Patient", "contained": [{"resourceType": "Condition", "id": 3}]},
            "Patient.contained[0].id: 3 is not a valid id",
        ),
        (
            {"resourceType": "Patient", "_birthDate": {"extension": [{"url": 1}]}},
            "Patient._birthDate.extension[0].url: must be a string",
        ),
        ({"resourceType": "Patient", "_name": {}}, "not the extension of a primitive element"),
        (
            {"resourceType": "Observation", "valueQuantity": {"value": "5"}},
            "Observation.valueQuantity.value: must be a JSON number",
        ),
    ],
)
def test_wrong_shapes_are_refused_naming_the_element(resource: Any, diagnostics: str) -> None:
    assert diagnostics in problem(resource)


def test_well_shaped_resources_pass_and_hand_back_their_references() -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o-1.2",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]},
        "subject": {"reference": "Patient/1"},
        "valueQuantity": {"value": 4.5, "unit": "g"},
        "_status": {"extension": [{"url": "u", "valueBoolean": True}]},
        "contained": [{"resourceType": "Provenance", "target": [{"reference": "urn:uuid:1"}]}],
        "extension": [{"url": "u", "valueReference": {"reference": "Condition/2"}}],
    }
    references = check_resource(observation, TYPES)
    assert sorted(holder["reference"] for holder in references) == [
        "Condition/2",
        "Patient/1",
        "urn:uuid:1",
    ]


def test_invalid_json_is_refused() -> None:
    with pytest.raises(OperationOutcomeError) as raised:
        parse_resource(b'{"resourceType": "Patient",', TYPES)
    assert raised.value.diagnostics.startswith("invalid JSON")


def test_every_shared_data_resource_passes() -> None:
    from isocenter.search.definitions import load_registry

    types = load_registry().resource_types()
    checked = 0
    for path in sorted(SHARED_DATA.rglob("*.json")):
        value = json.loads(path.read_text())
        if "resourceType" in value:
            check_resource(value, types)
            checked += 1
    assert checked > 400


def _base_max_from_us_core() -> dict[str, str]:
    """base.path -> base.max from the US Core 3.1.1 snapshots (the official R4 maxima)."""
    found: dict[str, str] = {}
    for path in (SHARED_DATA / "definitions" / "us-core-3.1.1").glob("StructureDefinition-*"):
        for element in json.loads(path.read_text())["snapshot"]["element"]:
            base = element.get("base", {})
            if "path" in base:
                found[base["path"]] = base["max"]
    return found


def test_the_documented_cardinality_sets_agree_with_the_official_definitions() -> None:
    base_max = _base_max_from_us_core()
    checked = [path for path in ARRAY_ELEMENTS | SINGLE_ELEMENTS if path in base_max]

    assert all(base_max[path] == "*" for path in ARRAY_ELEMENTS if path in base_max)
    assert all(base_max[path] == "1" for path in SINGLE_ELEMENTS if path in base_max)
    # Datatype internals (Timing.event, Narrative.div, ...) are not in the profiles'
    # snapshots; most of the set is.
    assert len(checked) >= 0.7 * len(ARRAY_ELEMENTS | SINGLE_ELEMENTS)
