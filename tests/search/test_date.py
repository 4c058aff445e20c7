"""Date search (R4 search 3.1.1.4.6, http://hl7.org/fhir/R4/search.html#date, and the
prefixes of 3.1.1.4.1, search.html#prefix): the search value's implicit range against
each indexed range, time zones converted to UTC, open Periods, malformed values refused.

Worked ranges (UTC) used below:
- us-core Encounter/example-1, period 17:00:14-05:00 .. 18:00:14-05:00 on 2015-11-01:
  [2015-11-01T22:00:14Z, 2015-11-01T23:00:14.999999Z].
- Ramón Sarabia's CareTeams: A [2011-01-02T19:38:27Z, 2011-01-23T19:38:27.999999Z],
  B [2011-12-19T19:38:27Z, 2012-01-02T19:38:27.999999Z], C [2016-09-05T19:38:27Z, open).
- Fannie Waelchi's Observations at 2020-04-28T21:53:35-04:00 = 2020-04-29T01:53:35Z.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from tests.search.search_data import (
    DATABASES,
    FANNIE,
    FANNIE_ID,
    SYNTHEA,
    ids,
    loaded_engine,
    us_core_files,
)

RAMON = "e6dde18e-af01-4f2f-b74a-1ec7d0368f93"
TEAM_A = "3e41c283-8983-45d2-bdff-d7a8ddf8ac6a"
TEAM_B = "19bb77a3-db6d-43d6-9f72-936a54ece490"
TEAM_C = "bd365940-e916-4365-b54a-d97a70c4ec05"
FANNIE_ENCOUNTER = "b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    files = [*us_core_files(), FANNIE, *SYNTHEA.glob("Ramón_*.json")]
    yield from loaded_engine(request, tmp_path_factory, files)


def found(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return ids(search.search(resource_type, list(params)))


def care_teams(search: SearchEngine, value: str) -> list[str]:
    return found(search, "CareTeam", ("patient", RAMON), ("date", value))


def encounters(search: SearchEngine, value: str) -> list[str]:
    return found(search, "Encounter", ("patient", "example"), ("date", value))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2011", [TEAM_A]),
        ("eq2011", [TEAM_A]),
        ("ne2011", [TEAM_B, TEAM_C]),
        ("ge2011-06", [TEAM_B, TEAM_C]),
        ("le2011-12-31", [TEAM_A, TEAM_B]),
        ("gt2012-01-02", [TEAM_C]),
        ("lt2011-01-02", []),
        ("lt2011-01-03", [TEAM_A]),
        ("sa2011-12-19T14:38:26-05:00", [TEAM_B, TEAM_C]),
        ("sa2011-12-19T14:38:27-05:00", [TEAM_C]),
        ("eb2011-12-19", [TEAM_A]),
        ("2016-09-05", []),
        ("ge2030", [TEAM_C]),
        ("eb2030", [TEAM_A, TEAM_B]),
        ("ap2011-01-10", [TEAM_A, TEAM_B]),
    ],
)
def test_prefixes_on_periods_and_an_open_period(
    search: SearchEngine, value: str, expected: list[str]
) -> None:
    assert care_teams(search, value) == sorted(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-11-01", ["example-1"]),
        ("2015-11-01T17:00:14-05:00", []),
        ("ne2015-11-01T17:00:14-05:00", ["example-1"]),
        ("ge2015-11-01T23:00:14Z", []),
        ("ge2015-11-01T23:00:13Z", ["example-1"]),
        ("le2015-11-01T22:00:14Z", []),
        ("le2015-11-01T22:00:15Z", ["example-1"]),
        ("gt2015-11-01T18:00-05:00", []),
        ("gt2015-11-01T17:59-05:00", ["example-1"]),
        ("lt2015-11-01T17:01-05:00", ["example-1"]),
        ("lt2015-11-01T22:00Z", []),
        ("2015-11-01T22:00:14.5Z", []),
    ],
)
def test_period_ends_at_second_and_minute_precision_across_zones(
    search: SearchEngine, value: str, expected: list[str]
) -> None:
    assert encounters(search, value) == expected


def test_offset_moves_a_late_evening_value_to_the_next_utc_day(search: SearchEngine) -> None:
    fannie = ("patient", FANNIE_ID)
    assert len(found(search, "Observation", fannie, ("date", "2020-04-29"))) == 20
    assert found(search, "Observation", fannie, ("date", "2020-04-28")) == []
    assert found(search, "Encounter", ("date", "2020-04-29")) == [FANNIE_ENCOUNTER]
    same_instant = ("date", "2020-04-29T01:53:35Z")
    assert len(found(search, "Observation", fannie, same_instant)) == 20


def test_query_offsets_are_honoured(search: SearchEngine) -> None:
    # satO2-fiO2 was taken at 2014-12-05T09:30:10+01:00, i.e. 08:30:10Z.
    assert found(search, "Observation", ("date", "2014-12-05T09:30:10+01:00")) == ["satO2-fiO2"]
    assert found(search, "Observation", ("date", "2014-12-05T08:30:10Z")) == ["satO2-fiO2"]
    assert found(search, "Observation", ("date", "2014-12-05T09:30:10Z")) == []


def test_plus_of_an_offset_decoded_as_space_still_matches(search: SearchEngine) -> None:
    # `date=2014-12-05T09:30:10+01:00` sent without percent-encoding the `+`.
    result = search.search("Observation", [("date", "2014-12-05T09:30:10 01:00")])
    assert ids(result) == ["satO2-fiO2"]
    assert result.self_params == [("date", "2014-12-05T09:30:10+01:00")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020", ["infant-example", FANNIE_ID]),
        ("2020-04", [FANNIE_ID]),
        ("ge2016-01-15", ["child-example", "infant-example", FANNIE_ID]),
        ("gt2016-01-15", ["infant-example", FANNIE_ID]),
        ("le2002-09-09", ["example", RAMON]),
        ("lt2002-09-09", ["example"]),
        ("ap1987-02-20", ["example"]),
        ("1987-02-20,2002", ["example", RAMON]),
    ],
)
def test_birthdate_dates(search: SearchEngine, value: str, expected: list[str]) -> None:
    assert found(search, "Patient", ("birthdate", value)) == sorted(expected)


def test_missing_date(search: SearchEngine) -> None:
    assert found(search, "Encounter", ("patient", "example"), ("date:missing", "true")) == [
        "1036"
    ]
    assert encounters(search, "ge1900") == ["example-1"]


@pytest.mark.parametrize(
    "value",
    ["1987-02-30", "2020-13", "gt", "20200101", "2020-04-28T25:00Z", "2015-11-01T17:00-15:00"],
)
def test_malformed_dates_are_refused(search: SearchEngine, value: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        search.search("Patient", [("birthdate", value)])
    assert caught.value.status == 400
    assert caught.value.expression == ["birthdate"]
