"""Sorting (R4 search 3.1.1.7, http://hl7.org/fhir/R4/search.html#sort): several keys,
``-`` for descending, ``_id`` and ``_lastUpdated``; a parameter with several values sorts
by its lowest ascending and its highest descending; resources without one come last.

Patients (us-core + Fannie): example (Baxter/Shaw, 1987-02-20), child-example (Example,
2016-01-15), infant-example (Example, 2020-06-02), Fannie (Waelchi, 2020-04-28). Loaded
in that file order: child-example, example, infant-example, then Fannie.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from tests.search.search_data import DATABASES, FANNIE, FANNIE_ID, loaded_engine, us_core_files

CHILD, EXAMPLE, INFANT = "child-example", "example", "infant-example"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, [*us_core_files(), FANNIE])


def in_order(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return [resource.id for resource in search.search(resource_type, list(params)).matches]


def test_date_ascending_and_descending(search: SearchEngine) -> None:
    ascending = [EXAMPLE, CHILD, FANNIE_ID, INFANT]
    assert in_order(search, "Patient", ("_sort", "birthdate")) == ascending
    assert in_order(search, "Patient", ("_sort", "-birthdate")) == ascending[::-1]


def test_string_uses_lowest_value_ascending_and_highest_descending(
    search: SearchEngine,
) -> None:
    # example's families are Baxter and Shaw: first ascending (baxter), second descending
    # (shaw, after waelchi); ties keep the order of storage.
    assert in_order(search, "Patient", ("_sort", "family")) == [
        EXAMPLE,
        CHILD,
        INFANT,
        FANNIE_ID,
    ]
    assert in_order(search, "Patient", ("_sort", "-family")) == [
        FANNIE_ID,
        EXAMPLE,
        CHILD,
        INFANT,
    ]


def test_several_keys(search: SearchEngine) -> None:
    result = in_order(search, "Patient", ("_sort", "family,-birthdate"))
    assert result == [EXAMPLE, INFANT, CHILD, FANNIE_ID]


def test_id_and_last_updated(search: SearchEngine) -> None:
    assert in_order(search, "Patient", ("_sort", "_id")) == sorted(
        [CHILD, EXAMPLE, INFANT, FANNIE_ID]
    )
    assert in_order(search, "Patient", ("_sort", "-_id")) == sorted(
        [CHILD, EXAMPLE, INFANT, FANNIE_ID], reverse=True
    )
    # All were stored in one transaction: the same instant, so storage order breaks ties.
    assert in_order(search, "Patient", ("_sort", "-_lastUpdated")) == [
        CHILD,
        EXAMPLE,
        INFANT,
        FANNIE_ID,
    ]


def test_token_sorts_by_code(search: SearchEngine) -> None:
    # 77606-2 (weight-for-length) sorts before 8289-1 (head circumference) as text.
    result = in_order(search, "Observation", ("patient", INFANT), ("_sort", "code"))
    assert result == ["pediatric-wt-example", "ofc-percentile"]


@pytest.mark.parametrize("sort", ["value-quantity", "-value-quantity"])
def test_resources_without_a_value_come_last(search: SearchEngine, sort: str) -> None:
    params = [("patient", EXAMPLE), ("category", "vital-signs"), ("_sort", sort)]
    result = in_order(search, "Observation", *params)
    # blood-pressure, bp-data-absent and vitals-panel have no valueQuantity.
    assert sorted(result[-3:]) == ["blood-pressure", "bp-data-absent", "vitals-panel"]
    # bmi 16.2 kg/m2 is the lowest vital sign of example; height 111.506 cm the highest.
    assert result[0] == ("bmi" if sort == "value-quantity" else "height")


def test_period_dates_sort_by_start_ascending_and_end_descending(search: SearchEngine) -> None:
    result = in_order(search, "Encounter", ("_sort", "date"))
    assert result == ["example-1", "b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6", "1036"]
    result = in_order(search, "Encounter", ("_sort", "-date"))
    assert result == ["b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6", "example-1", "1036"]


@pytest.mark.parametrize("sort", ["name.family", "code-value-quantity", "nothing", "-"])
def test_unsortable_keys_are_refused(search: SearchEngine, sort: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        search.search("Observation", [("_sort", sort)])
    assert caught.value.status == 400
