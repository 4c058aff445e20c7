"""Paging (R4 search 3.1.1.8 / http://hl7.org/fhir/R4/http.html#paging): keyset cursors
that hold a snapshot bound, so that resources created between pages never shift or
duplicate a page and the total stays put; previous links; tampered cursors; _count and
_total. Data: Fannie Waelchi's Synthea bundle (20 Observations)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine, SearchResult
from isocenter.store.repository import Store
from tests.search.search_data import FANNIE, FANNIE_ID, load, new_store, search_engine

PATIENT = ("patient", FANNIE_ID)


@pytest.fixture
def store(engine: Engine) -> Store:
    store = new_store(engine)
    load(store, [FANNIE])
    return store


@pytest.fixture
def search(store: Store) -> SearchEngine:
    return search_engine(store, default_count=6, max_count=10)


def observation(id: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
        "subject": {"reference": f"Patient/{FANNIE_ID}"},
        "effectiveDateTime": "2020-04-28T21:53:35-04:00",
    }


def every_page(search: SearchEngine, first: SearchResult) -> list[SearchResult]:
    pages = [first]
    while pages[-1].next_params is not None:
        pages.append(search.search("Observation", pages[-1].next_params))
    return pages


def page_ids(pages: list[SearchResult]) -> list[str]:
    return [resource.id for page in pages for resource in page.matches]


def test_pages_cover_every_match_once(search: SearchEngine) -> None:
    pages = every_page(search, search.search("Observation", [PATIENT]))
    assert [len(page.matches) for page in pages] == [6, 6, 6, 2]
    assert len(set(page_ids(pages))) == 20
    assert all(page.total == 20 for page in pages)


def test_resources_created_between_pages_do_not_shift_pages(
    search: SearchEngine, store: Store
) -> None:
    first = search.search("Observation", [PATIENT])
    second = search.search("Observation", first.next_params or [])
    with store.writer() as writer:
        writer.put_many([observation(f"late-{n}") for n in range(5)])
    rest = every_page(search, search.search("Observation", second.next_params or []))
    seen = page_ids([first, second, *rest])
    assert len(seen) == len(set(seen)) == 20
    assert not any(id.startswith("late-") for id in seen)
    assert all(page.total == 20 for page in rest)
    assert search.search("Observation", [PATIENT]).total == 25


def test_sorted_pages_with_ties_and_missing_values(search: SearchEngine, store: Store) -> None:
    # Every Observation has the same date (a tie throughout); two have no valueQuantity.
    sorts = ("date", "-date", "value-quantity", "-value-quantity", "-_lastUpdated")
    for added, sort in enumerate(sorts):
        first = search.search("Observation", [PATIENT, ("_sort", sort)])
        with store.writer() as writer:
            writer.put(observation(f"late-{sort}"))
        pages = every_page(search, first)
        seen = page_ids(pages)
        assert len(seen) == len(set(seen)) == 20 + added, sort
        assert f"late-{sort}" not in seen


def test_missing_values_sort_last_across_pages(search: SearchEngine) -> None:
    for sort in ("value-quantity", "-value-quantity"):
        pages = every_page(search, search.search("Observation", [PATIENT, ("_sort", sort)]))
        values = [_quantity(resource.parsed()) for page in pages for resource in page.matches]
        present = [value for value in values if value is not None]
        assert values[: len(present)] == sorted(present, reverse=sort.startswith("-")), sort
        assert values[len(present) :] == [None, None], sort


def _quantity(resource: dict[str, Any]) -> float | None:
    quantity = resource.get("valueQuantity")
    return None if quantity is None else float(quantity["value"])


def test_previous_returns_the_page_before(search: SearchEngine) -> None:
    for sort in ([], [("_sort", "-value-quantity")]):
        pages = every_page(search, search.search("Observation", [PATIENT, *sort]))
        assert pages[0].previous_params is None
        for before, page in zip(pages, pages[1:], strict=False):
            assert page.previous_params is not None
            back = search.search("Observation", page.previous_params)
            assert [r.id for r in back.matches] == [r.id for r in before.matches]
        first_again = search.search("Observation", pages[1].previous_params or [])
        assert first_again.previous_params is None
        assert first_again.next_params is not None


def test_deleted_between_pages_are_left_out(search: SearchEngine, store: Store) -> None:
    first = search.search("Observation", [PATIENT])
    second = search.search("Observation", first.next_params or [])
    with store.writer() as writer:
        writer.delete("Observation", second.matches[0].id)
    again = search.search("Observation", first.next_params or [])
    assert [r.id for r in again.matches] == [r.id for r in second.matches[1:]] + [
        r.id for r in search.search("Observation", second.next_params or []).matches[:1]
    ]


def test_next_params_repeat_the_search_with_count_and_cursor(search: SearchEngine) -> None:
    first = search.search("Observation", [PATIENT, ("_sort", "-date"), ("_count", "4")])
    assert first.self_params == [PATIENT, ("_sort", "-date"), ("_count", "4")]
    assert first.next_params is not None
    names = [name for name, _ in first.next_params]
    assert names == ["patient", "_sort", "_count", "_cursor"]
    assert ("_count", "4") in first.next_params
    second = search.search("Observation", first.next_params)
    assert second.self_params == first.next_params


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cursor: cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"),
        lambda cursor: cursor[:10],
        lambda cursor: "not a cursor",
        lambda cursor: "",
    ],
)
def test_tampered_cursor_is_refused(search: SearchEngine, tamper: Any) -> None:
    first = search.search("Observation", [PATIENT])
    assert first.next_params is not None
    params = [(n, tamper(v) if n == "_cursor" else v) for n, v in first.next_params]
    with pytest.raises(OperationOutcomeError) as caught:
        search.search("Observation", params)
    assert caught.value.status == 400
    assert caught.value.expression == ["_cursor"]


def test_cursor_of_another_search_is_refused(search: SearchEngine) -> None:
    first = search.search("Observation", [PATIENT])
    cursor = dict(first.next_params or [])["_cursor"]
    with pytest.raises(OperationOutcomeError):
        search.search("Observation", [PATIENT, ("code", "8302-2"), ("_cursor", cursor)])
    with pytest.raises(OperationOutcomeError):
        search.search("Observation", [PATIENT, ("_cursor", cursor)], compartment=FANNIE_ID)


def test_count_is_clamped_to_the_maximum(search: SearchEngine) -> None:
    result = search.search("Observation", [PATIENT, ("_count", "500")])
    assert len(result.matches) == 10
    assert result.self_params == [PATIENT, ("_count", "10")]


def test_count_only(search: SearchEngine) -> None:
    for params in ([("_summary", "count")], [("_count", "0")]):
        result = search.search("Observation", [PATIENT, *params])
        assert result.count_only and result.total == 20
        assert result.matches == [] and result.next_params is None


def test_total_none_and_estimate(search: SearchEngine) -> None:
    none = search.search("Observation", [PATIENT, ("_total", "none")])
    assert none.total is None and none.next_params is not None
    later = search.search("Observation", none.next_params)
    assert later.total is None
    assert search.search("Observation", [PATIENT, ("_total", "estimate")]).total == 20
