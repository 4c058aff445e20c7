"""String search (R4 search 3.1.1.4.8, http://hl7.org/fhir/R4/search.html#string):
starts-with, case- and accent-insensitive by default; ``:exact`` and ``:contains``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.search.engine import SearchEngine
from tests.search.search_data import DATABASES, SHARED_DATA, ids, loaded_engine, us_core_files

SYNTHEA = SHARED_DATA / "synthea"
RAMON = "e6dde18e-af01-4f2f-b74a-1ec7d0368f93"
MARIA = "221fe1ec-a258-4fc4-8cc8-b7c960a8a0a9"
ADAN = "d39173c2-7dc5-4a08-aba0-3f14f6b70d94"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    files = [
        *us_core_files(),
        *SYNTHEA.glob("bulk-data-server/Ramón_*.json"),
        *SYNTHEA.glob("bulk-data-server/María_*.json"),
        *SYNTHEA.glob("generated-sample-data/Adán_*.json"),
    ]
    yield from loaded_engine(request, tmp_path_factory, files)


def found(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return ids(search.search(resource_type, list(params)))


def test_family_matches_the_start_of_the_name_in_any_case(search: SearchEngine) -> None:
    assert found(search, "Patient", ("family", "shaw")) == ["example"]
    assert found(search, "Patient", ("family", "SHA")) == ["example"]
    assert found(search, "Patient", ("family", "haw")) == []


def test_name_covers_family_given_and_every_name_of_the_patient(search: SearchEngine) -> None:
    # Amy V. Shaw became Amy V. Baxter; both names are searchable.
    assert found(search, "Patient", ("name", "baxter")) == ["example"]
    assert found(search, "Patient", ("name", "amy")) == ["example"]
    assert found(search, "Patient", ("name", "example")) == ["child-example", "infant-example"]
    assert found(search, "Patient", ("given", "inf")) == ["infant-example"]


def test_accents_are_ignored_on_both_sides(search: SearchEngine) -> None:
    assert found(search, "Patient", ("given", "ramon")) == [RAMON]
    assert found(search, "Patient", ("given", "Ramón")) == [RAMON]
    assert found(search, "Patient", ("given", "ADAN")) == [ADAN]


def test_given_with_a_space_matches_a_multi_word_given_name(search: SearchEngine) -> None:
    assert found(search, "Patient", ("given", "maria teresa")) == [MARIA]
    assert found(search, "Patient", ("given", "maria  TERESA")) == [MARIA]


def test_exact_compares_the_stored_value_as_is(search: SearchEngine) -> None:
    assert found(search, "Patient", ("family:exact", "Shaw")) == ["example"]
    assert found(search, "Patient", ("family:exact", "shaw")) == []
    assert found(search, "Patient", ("family:exact", "Sha")) == []
    assert found(search, "Patient", ("given:exact", "Ramón")) == [RAMON]
    assert found(search, "Patient", ("given:exact", "Ramon")) == []


def test_contains_matches_anywhere_in_the_value(search: SearchEngine) -> None:
    assert found(search, "Patient", ("name:contains", "axte")) == ["example"]
    assert found(search, "Patient", ("family:contains", "ARRASQ")) == [MARIA]


def test_wildcard_characters_are_literal(search: SearchEngine) -> None:
    assert found(search, "Patient", ("family", "%")) == []
    assert found(search, "Patient", ("family", "_haw")) == []
    assert found(search, "Patient", ("name:contains", "%")) == []


def test_address_parts(search: SearchEngine) -> None:
    us_core = ["child-example", "example", "infant-example"]
    assert found(search, "Patient", ("address-city", "mounds")) == us_core
    assert found(search, "Patient", ("address", "49 meadow")) == us_core
    assert found(search, "Patient", ("address-postalcode", "74048")) == ["example"]
    assert found(search, "Patient", ("address-state", "massachusetts")) == sorted(
        [RAMON, MARIA, ADAN]
    )


def test_comma_ors_and_repeats_and(search: SearchEngine) -> None:
    assert found(search, "Patient", ("family", "shaw,sarabia")) == sorted(["example", RAMON])
    assert found(search, "Patient", ("given", "amy"), ("family", "sarabia")) == []


def test_names_of_other_resource_types(search: SearchEngine) -> None:
    assert found(search, "Location", ("name", "health level seven")) == ["hl7east"]
    assert found(search, "Organization", ("name", "acme")) == [
        "acme-lab",
        "example-organization-2",
    ]
    assert found(search, "Practitioner", ("name", "bone")) == ["practitioner-1"]


def test_missing(search: SearchEngine) -> None:
    assert found(search, "Patient", ("name:missing", "true")) == []
    # Saint Luke's address has no country; the other two Organizations' have "USA".
    assert found(search, "Organization", ("address-country:missing", "true")) == [
        "saint-luke-w-endpoint"
    ]
