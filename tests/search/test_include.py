"""_include and _revinclude (R4 search 3.1.1.5, http://hl7.org/fhir/R4/search.html#include):
targets of a page's references and resources referring to the page, ``:iterate`` rounds,
each resource once and never both a match and an include."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.search.engine import SearchEngine, SearchResult
from tests.search.search_data import (
    DATABASES,
    FANNIE,
    FANNIE_ID,
    ids,
    loaded_engine,
    typed_ids,
    us_core_files,
)

ENCOUNTER = "b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6"
ORGANIZATION = "291a8a53-1a8b-3004-9a87-a1a00c836f1b"
PRACTITIONER = "378ce1a5-44aa-3e5a-9929-bee12f92bf74"
REPORT = "5cdb9ffd-8553-45bb-860c-c01855e69e1c"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, [*us_core_files(), FANNIE])


def run(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> SearchResult:
    return search.search(resource_type, list(params))


def test_include_adds_the_referenced_resource_once(search: SearchEngine) -> None:
    result = run(
        search,
        "Observation",
        ("patient", "infant-example"),
        ("_include", "Observation:patient"),
        ("_include", "Observation:subject"),
    )
    assert ids(result) == ["ofc-percentile", "pediatric-wt-example"]
    assert typed_ids(result.included) == ["Patient/infant-example"]


def test_include_with_a_target_type(search: SearchEngine) -> None:
    patient = run(
        search,
        "Observation",
        ("_id", "ofc-percentile"),
        ("_include", "Observation:subject:Patient"),
    )
    assert typed_ids(patient.included) == ["Patient/infant-example"]
    group = run(
        search,
        "Observation",
        ("_id", "ofc-percentile"),
        ("_include", "Observation:subject:Group"),
    )
    assert group.included == []


def test_a_match_is_not_repeated_as_an_include(search: SearchEngine) -> None:
    result = run(
        search,
        "Observation",
        ("_id", "vitals-panel,heart-rate"),
        ("_include", "Observation:has-member"),
    )
    assert ids(result) == ["heart-rate", "vitals-panel"]
    assert typed_ids(result.included) == [
        "Observation/blood-pressure",
        "Observation/respiratory-rate",
    ]


def test_revinclude_adds_resources_that_refer_to_the_matches(search: SearchEngine) -> None:
    result = run(
        search, "Patient", ("_id", "infant-example"), ("_revinclude", "Observation:patient")
    )
    assert typed_ids(result.included) == [
        "Observation/ofc-percentile",
        "Observation/pediatric-wt-example",
    ]
    encounter = run(
        search, "Encounter", ("_id", ENCOUNTER), ("_revinclude", "Observation:encounter")
    )
    assert len(encounter.included) == 20


def test_plain_includes_start_only_from_matches(search: SearchEngine) -> None:
    params = [("_id", "example-1"), ("_revinclude", "MedicationRequest:encounter")]
    plain = run(search, "Encounter", *params, ("_include", "MedicationRequest:subject"))
    assert typed_ids(plain.included) == ["MedicationRequest/self-tylenol"]
    iterated = run(
        search, "Encounter", *params, ("_include:iterate", "MedicationRequest:subject")
    )
    assert typed_ids(iterated.included) == ["MedicationRequest/self-tylenol", "Patient/example"]


def test_iterate_follows_several_rounds(search: SearchEngine) -> None:
    # Observation -> its Encounter -> the Encounter's Organization and Practitioner.
    one = run(search, "DiagnosticReport", ("_id", REPORT))
    assert len(one.matches) == 1
    result = run(
        search,
        "DiagnosticReport",
        ("_id", REPORT),
        ("_include", "DiagnosticReport:encounter"),
        ("_include:iterate", "Encounter:service-provider"),
        ("_include:iterate", "Encounter:practitioner"),
    )
    assert typed_ids(result.included) == [
        f"Encounter/{ENCOUNTER}",
        f"Organization/{ORGANIZATION}",
        f"Practitioner/{PRACTITIONER}",
    ]


def test_resources_reached_twice_are_included_once(search: SearchEngine) -> None:
    report = run(search, "DiagnosticReport", ("_id", REPORT))
    assert len(report.matches[0].parsed()["result"]) == 11
    result = run(
        search,
        "DiagnosticReport",
        ("_id", REPORT),
        ("_include", "DiagnosticReport:result"),
        ("_include", "DiagnosticReport:encounter"),
        ("_revinclude:iterate", "Observation:encounter"),
    )
    # The 11 results are among the encounter's 20 Observations, reached again by the
    # iterated revinclude: 1 Encounter + 20 Observations, each once.
    included = typed_ids(result.included)
    assert len(included) == len(set(included)) == 21
    assert included[0] == f"Encounter/{ENCOUNTER}"


def test_no_includes_for_an_empty_page(search: SearchEngine) -> None:
    result = run(search, "Patient", ("_id", "nobody"), ("_revinclude", "Observation:patient"))
    assert result.matches == [] and result.included == []


def test_include_from_a_patient_to_its_compartment_resources(search: SearchEngine) -> None:
    result = run(search, "Patient", ("_id", FANNIE_ID), ("_revinclude", "Encounter:patient"))
    assert typed_ids(result.included) == [f"Encounter/{ENCOUNTER}"]
