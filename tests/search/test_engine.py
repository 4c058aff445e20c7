"""The search engine's contract with the HTTP layer and the loader: strict and lenient
handling, result parameters handed back, ``_lastUpdated``, deleted resources, and
``matching_ids`` inside a writer's transaction (R4 search.html, http.html#cond-update)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from isocenter.outcomes import OperationOutcomeError
from isocenter.store.instants import to_instant
from isocenter.store.repository import Store
from tests.search.search_data import (
    FANNIE,
    FANNIE_ID,
    US_CORE,
    ids,
    load,
    new_store,
    search_engine,
)

ENCOUNTER = "b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6"


@pytest.fixture
def store(engine: Engine) -> Store:
    store = new_store(engine)
    load(store, [FANNIE, *US_CORE.glob("Patient-*.json")])
    return store


def test_strict_refuses_what_lenient_ignores(store: Store) -> None:
    search = search_engine(store)
    params = [("family", "waelchi"), ("shoe-size", "9"), ("birthdate", "2020-02-30")]
    with pytest.raises(OperationOutcomeError) as caught:
        search.search("Patient", params)
    assert caught.value.status == 400 and caught.value.expression == ["shoe-size"]
    lenient = search.search("Patient", params, lenient=True)
    assert ids(lenient) == [FANNIE_ID]
    assert lenient.self_params == [("family", "waelchi")]


def test_unknown_type_is_404(store: Store) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        search_engine(store).search("Unicorn", [])
    assert caught.value.status == 404


def test_summary_and_elements_are_handed_back(store: Store) -> None:
    result = search_engine(store).search(
        "Patient", [("_summary", "true"), ("_elements", "name"), ("_format", "json")]
    )
    assert result.summary == "true" and result.elements == ["name"]
    assert not result.count_only and len(result.matches) == 4


def test_last_updated_compares_the_stored_instant(store: Store) -> None:
    search = search_engine(store)
    before = search.search("Patient", [("_id", "example")]).matches[0].last_updated
    with store.writer() as writer:
        writer.put({"resourceType": "Patient", "id": "later", "gender": "other"})
        written = writer.now
    instant = to_instant(written)
    assert written > before
    assert ids(search.search("Patient", [("_lastUpdated", f"ge{instant}")])) == ["later"]
    assert len(search.search("Patient", [("_lastUpdated", f"lt{instant}")]).matches) == 4
    assert ids(search.search("Patient", [("_lastUpdated", instant)])) == ["later"]
    newest = search.search("Patient", [("_sort", "-_lastUpdated"), ("_count", "1")])
    assert ids(newest) == ["later"]


def test_deleted_resources_are_not_matched_included_or_chained(store: Store) -> None:
    search = search_engine(store)
    with store.writer() as writer:
        writer.delete("Encounter", ENCOUNTER)
    assert search.search("Encounter", [("patient", FANNIE_ID)]).matches == []
    included = search.search(
        "Observation", [("patient", FANNIE_ID), ("_include", "Observation:encounter")]
    )
    assert included.included == []
    chained = search.search("Observation", [("encounter.status", "finished")])
    assert chained.matches == []
    assert ids(search.search("Encounter", [("_id", ENCOUNTER)])) == []


def test_matching_ids_sees_the_writers_own_transaction(store: Store) -> None:
    search = search_engine(store)
    query = "identifier=http://example.org/mrn|new-1"
    with store.writer() as writer:
        writer.put(
            {
                "resourceType": "Patient",
                "id": "new-patient",
                "identifier": [{"system": "http://example.org/mrn", "value": "new-1"}],
            }
        )
        assert search.matching_ids("Patient", query, connection=writer.connection) == [
            "new-patient"
        ]
    assert search.matching_ids("Patient", query) == ["new-patient"]


def test_matching_ids_takes_an_encoded_query_and_refuses_bad_ones(store: Store) -> None:
    search = search_engine(store)
    assert search.matching_ids("Patient", "family=Waelchi&gender=female") == [FANNIE_ID]
    assert search.matching_ids("Patient", "birthdate=2020-04-28T00%3A00%3A00%2B00%3A00") == []
    assert search.matching_ids("Patient", "identifier=nope|0") == []
    with pytest.raises(OperationOutcomeError):
        search.matching_ids("Patient", "shoe-size=9")


def test_self_params_keep_request_order_in_canonical_form(store: Store) -> None:
    search = search_engine(store)
    params = [
        ("_count", "2"),
        ("birthdate", "ge2000-01-01T00:00:00 01:00"),
        ("_pretty", "true"),
        ("_sort", "-birthdate"),
    ]
    result = search.search("Patient", params)
    assert result.self_params == [
        ("_count", "2"),
        ("birthdate", "ge2000-01-01T00:00:00+01:00"),
        ("_sort", "-birthdate"),
    ]
    assert ids(result) == sorted([FANNIE_ID, "infant-example"])
