"""URI search (R4 search 3.1.1.4.13, http://hl7.org/fhir/R4/search.html#uri): equality,
``:below`` (the value is a prefix of the stored uri) and ``:above`` (the stored uri is a
prefix of the value), on ``_profile`` of the US Core examples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.search.engine import SearchEngine
from tests.search.search_data import DATABASES, ids, loaded_engine, us_core_files

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
VITAL_SIGNS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, us_core_files())


def found(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return ids(search.search(resource_type, list(params)))


def test_equal(search: SearchEngine) -> None:
    assert found(search, "Observation", ("_profile", US_CORE + "us-core-pulse-oximetry")) == [
        "satO2-fiO2"
    ]
    assert found(search, "Observation", ("_profile", US_CORE + "us-core-pulse")) == []


def test_below_matches_uris_under_the_value(search: SearchEngine) -> None:
    assert found(search, "Observation", ("_profile:below", US_CORE + "pediatric")) == [
        "pediatric-bmi-example",
        "pediatric-wt-example",
    ]


def test_above_matches_uris_the_value_is_under(search: SearchEngine) -> None:
    vitals = found(search, "Observation", ("_profile:above", VITAL_SIGNS + "/v2"))
    assert len(vitals) == 11
    assert "heart-rate" in vitals and "satO2-fiO2" not in vitals


def test_missing(search: SearchEngine) -> None:
    assert found(search, "Encounter", ("_profile:missing", "true")) == ["1036"]
    assert found(search, "MedicationRequest", ("_profile:missing", "false")) == [
        "uscore-mo1",
        "uscore-mo2",
    ]
