"""A search restricted to one Patient's compartment (the future patient-context token):
no route — plain match, _include, _revinclude, chain or _has — returns or includes
another patient's resources. Shared resources (Practitioner, Organization, ...) that the
compartment's own resources refer to may be included; others may not.

Data: the US Core examples (Patients example, child-example, infant-example), Fannie
Waelchi's bundle, and one Encounter made here for Patient/example at Fannie's
Organization, which a compartment-bound search must never reach through that
Organization.
"""

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
INFANT = "infant-example"
ELSEWHERE_VISIT = {
    "resourceType": "Encounter",
    "id": "example-at-steward",
    "status": "finished",
    "class": {"code": "AMB"},
    "subject": {"reference": "Patient/example"},
    "serviceProvider": {"reference": f"Organization/{ORGANIZATION}"},
}


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(
        request, tmp_path_factory, [*us_core_files(), FANNIE], [ELSEWHERE_VISIT]
    )


def within(
    search: SearchEngine, patient: str, resource_type: str, *params: tuple[str, str]
) -> SearchResult:
    return search.search(resource_type, list(params), compartment=patient)


def test_matches_are_only_the_compartment_resources(search: SearchEngine) -> None:
    assert ids(within(search, INFANT, "Observation")) == [
        "ofc-percentile",
        "pediatric-wt-example",
    ]
    assert ids(within(search, INFANT, "Patient")) == [INFANT]
    assert ids(within(search, INFANT, "Observation", ("patient", "example"))) == []
    assert ids(within(search, INFANT, "Observation", ("code", "8867-4"))) == []
    assert within(search, INFANT, "Observation", ("_summary", "count")).total == 2


def test_shared_resources_are_not_matches(search: SearchEngine) -> None:
    assert ids(within(search, FANNIE_ID, "Organization")) == []
    assert ids(within(search, FANNIE_ID, "Practitioner")) == []


def test_include_reaches_only_the_compartment_and_its_shared_resources(
    search: SearchEngine,
) -> None:
    result = within(
        search,
        FANNIE_ID,
        "Encounter",
        ("_include", "Encounter:service-provider"),
        ("_include", "Encounter:practitioner"),
        ("_include", "Encounter:patient"),
    )
    assert ids(result) == [ENCOUNTER]
    assert typed_ids(result.included) == [
        f"Organization/{ORGANIZATION}",
        f"Patient/{FANNIE_ID}",
        f"Practitioner/{PRACTITIONER}",
    ]


def test_iterate_through_a_shared_resource_stays_in_the_compartment(
    search: SearchEngine,
) -> None:
    params = [
        ("_include", "Encounter:service-provider"),
        ("_revinclude:iterate", "Encounter:service-provider"),
    ]
    unrestricted = search.search("Encounter", [("_id", ENCOUNTER), *params])
    assert "Encounter/example-at-steward" in typed_ids(unrestricted.included)
    restricted = within(search, FANNIE_ID, "Encounter", *params)
    assert typed_ids(restricted.included) == [f"Organization/{ORGANIZATION}"]


def test_revinclude_reaches_only_the_compartment(search: SearchEngine) -> None:
    unrestricted = search.search(
        "Organization", [("_id", ORGANIZATION), ("_revinclude", "Encounter:service-provider")]
    )
    assert len(unrestricted.included) == 2
    result = within(
        search,
        INFANT,
        "Patient",
        ("_revinclude", "Observation:patient"),
        ("_revinclude", "Observation:subject"),
    )
    assert ids(result) == [INFANT]
    assert typed_ids(result.included) == [
        "Observation/ofc-percentile",
        "Observation/pediatric-wt-example",
    ]


def test_chains_cannot_reach_another_patient(search: SearchEngine) -> None:
    assert ids(within(search, INFANT, "Observation", ("subject:Patient.name", "amy"))) == []
    assert ids(within(search, INFANT, "Observation", ("patient.name", "infant"))) == [
        "ofc-percentile",
        "pediatric-wt-example",
    ]
    # A chain through a shared resource is allowed: the match stays in the compartment.
    steward = ("encounter.service-provider.name", "steward")
    assert len(ids(within(search, FANNIE_ID, "Observation", steward))) == 20
    assert ids(within(search, INFANT, "Observation", steward)) == []


def test_has_cannot_see_another_patients_resources(search: SearchEngine) -> None:
    heart_rate = ("_has:Observation:patient:code", "8867-4")
    assert ids(search.search("Patient", [heart_rate])) == sorted(["example", FANNIE_ID])
    assert ids(within(search, FANNIE_ID, "Patient", heart_rate)) == [FANNIE_ID]
    assert ids(within(search, INFANT, "Patient", heart_rate)) == []
    # Fannie's Organization: referred to by her Encounter and by example's.
    has_visit = ("_has:Encounter:service-provider:status", "finished")
    assert ids(search.search("Organization", [has_visit])) == [ORGANIZATION]
    assert ids(within(search, "child-example", "Organization", has_visit)) == []


def test_matching_ids_is_not_restricted(search: SearchEngine) -> None:
    assert search.matching_ids(
        "Patient", "identifier=http://hospital.smarthealthit.org|1032703"
    ) == [INFANT]
