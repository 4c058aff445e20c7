"""Token search (R4 search 3.1.1.4.7, http://hl7.org/fhir/R4/search.html#token) on the
US Core 3.1.1 examples: Coding, CodeableConcept, Identifier and code/boolean primitives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.search.engine import SearchEngine
from tests.search.search_data import DATABASES, ids, loaded_engine, us_core_files

LOINC = "http://loinc.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, us_core_files())


def found(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return ids(search.search(resource_type, list(params)))


def test_system_and_code_match_any_coding_of_the_concept(search: SearchEngine) -> None:
    # satO2-fiO2 carries 59408-5 as its second coding.
    assert found(search, "Observation", ("code", f"{LOINC}|59408-5")) == [
        "oxygen-saturation",
        "satO2-fiO2",
    ]


def test_code_alone_matches_in_any_system(search: SearchEngine) -> None:
    assert found(search, "Observation", ("code", "8867-4")) == ["heart-rate"]


def test_bar_code_matches_only_codes_without_a_system(search: SearchEngine) -> None:
    assert found(search, "Observation", ("code", "|8867-4")) == []
    # Patient.gender is a code primitive: indexed without a system.
    assert found(search, "Patient", ("gender", "|male")) == ["child-example", "infant-example"]


def test_system_bar_matches_every_code_of_the_system(search: SearchEngine) -> None:
    assert found(search, "Observation", ("code", "urn:iso:std:iso:11073:10101|")) == [
        "satO2-fiO2"
    ]


def test_comma_ors_codes(search: SearchEngine) -> None:
    assert found(search, "Observation", ("code", f"{LOINC}|8867-4,{LOINC}|9279-1")) == [
        "heart-rate",
        "respiratory-rate",
    ]


def test_repeated_parameters_and(search: SearchEngine) -> None:
    result = found(
        search,
        "Observation",
        ("category", f"{CATEGORY}|vital-signs"),
        ("patient", "infant-example"),
    )
    assert result == ["ofc-percentile", "pediatric-wt-example"]


def test_identifier_by_system_and_value(search: SearchEngine) -> None:
    result = found(
        search, "Patient", ("identifier", "http://hospital.smarthealthit.org|1032702")
    )
    assert result == ["example"]


def test_boolean_and_code_primitives(search: SearchEngine) -> None:
    assert found(search, "Patient", ("gender", "female")) == ["example"]
    assert found(search, "Patient", ("active", "true")) == [
        "child-example",
        "example",
        "infant-example",
    ]
    assert found(search, "Patient", ("active", "false")) == []


def test_not_excludes_resources_with_the_code(search: SearchEngine) -> None:
    result = found(
        search, "Observation", ("patient", "infant-example"), ("code:not", f"{LOINC}|8289-1")
    )
    assert result == ["pediatric-wt-example"]


def test_text_matches_start_of_display_or_of_a_word(search: SearchEngine) -> None:
    # "Heart Rate" (display); "Blood pressure panel ..." has a word starting "pressure".
    assert found(search, "Observation", ("code:text", "HEART")) == ["heart-rate"]
    assert found(search, "Observation", ("code:text", "pressure")) == [
        "blood-pressure",
        "bp-data-absent",
    ]
    assert found(search, "Observation", ("code:text", "eart")) == []


def test_value_concept_and_its_missing(search: SearchEngine) -> None:
    smoker = ("value-concept", "http://snomed.info/sct|428041000124106")
    assert found(search, "Observation", smoker) == ["some-day-smoker"]
    vital_signs = ("category", "vital-signs")
    assert found(search, "Observation", vital_signs, ("value-concept:missing", "false")) == []
    assert (
        len(found(search, "Observation", vital_signs, ("value-concept:missing", "true"))) == 15
    )


def test_id_matches_the_logical_id(search: SearchEngine) -> None:
    assert found(search, "Patient", ("_id", "example,infant-example,nobody")) == [
        "example",
        "infant-example",
    ]
    assert found(search, "Patient", ("_id:not", "example")) == [
        "child-example",
        "infant-example",
    ]
