"""Chaining and reverse chaining (R4 search 3.1.1.4.11 and 3.1.1.4.12,
http://hl7.org/fhir/R4/search.html#chaining and #has): criteria on the resources a
reference points at, up to three levels, and ``_has`` criteria on resources that point
back, nested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from tests.search.search_data import (
    DATABASES,
    FANNIE,
    FANNIE_ID,
    ids,
    loaded_engine,
    us_core_files,
)

REPORT = "5cdb9ffd-8553-45bb-860c-c01855e69e1c"
INFANT = ["ofc-percentile", "pediatric-wt-example"]
# 47 US Core example Observations: 2 for infant-example, 1 for child-example, the rest
# for example.
EXAMPLE_OBSERVATIONS = 44


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, [*us_core_files(), FANNIE])


def found(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return ids(search.search(resource_type, list(params)))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("subject:Patient.name", "infant"),
        ("subject.name", "infant"),
        ("patient.given", "INFANT"),
        ("patient.identifier", "http://hospital.smarthealthit.org|1032703"),
        ("patient.birthdate", "2020-06-02"),
        ("patient._id", "infant-example"),
    ],
)
def test_one_level(search: SearchEngine, name: str, value: str) -> None:
    assert found(search, "Observation", (name, value)) == INFANT


def test_chained_modifiers_and_or(search: SearchEngine) -> None:
    assert len(found(search, "Observation", ("patient.name:exact", "Amy"))) == 44
    assert found(search, "Observation", ("patient.name:exact", "amy")) == []
    both = found(search, "Observation", ("patient.given", "infant,child"))
    assert both == sorted([*INFANT, "pediatric-bmi-example"])


def test_two_and_three_levels(search: SearchEngine) -> None:
    steward = ("encounter.service-provider.name", "steward")
    assert len(found(search, "Observation", steward)) == 20
    schumm = ("result.encounter.participant:Practitioner.name", "schumm")
    assert found(search, "DiagnosticReport", schumm) == [REPORT]
    nobody = ("result.encounter.participant:Practitioner.name", "nobody")
    assert found(search, "DiagnosticReport", nobody) == []


def test_chain_and_plain_parameters_and(search: SearchEngine) -> None:
    params = [("patient.gender", "female"), ("code", "http://loinc.org|8302-2")]
    # example (female) has height 8302-2; so does Fannie (female).
    result = found(search, "Observation", *params)
    assert len(result) == 2 and "height" in result


def test_has_finds_resources_referred_to_by_matching_ones(search: SearchEngine) -> None:
    assert found(search, "Patient", ("_has:Observation:patient:code", "8289-1")) == [
        "infant-example"
    ]
    blood_pressure = ("_has:Observation:patient:code", "http://loinc.org|85354-9")
    assert found(search, "Patient", blood_pressure) == sorted(["example", FANNIE_ID])


def test_has_nests(search: SearchEngine) -> None:
    height = ("_has:Encounter:patient:_has:Observation:encounter:code", "8302-2")
    assert found(search, "Patient", height) == [FANNIE_ID]
    pressure = ("_has:Encounter:patient:_has:Observation:encounter:code", "85354-9")
    assert found(search, "Patient", pressure) == sorted(["example", FANNIE_ID])


def test_has_with_a_chain_inside(search: SearchEngine) -> None:
    params = ("_has:Observation:encounter:patient.name", "waelchi")
    assert len(found(search, "Encounter", params)) == 1


def test_chain_through_a_missing_target_type_is_refused(search: SearchEngine) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        search.search("Observation", [("subject:Patient.colour", "blue")])
    assert caught.value.status == 400
    with pytest.raises(OperationOutcomeError):
        search.search("Observation", [("code.name", "x")])
