"""SMART v2 query restrictions (``patient/Observation.rs?category=laboratory``): ANDed into
searches, OR-ed across several scopes of one type, applied to reads, includes and
histories; a restriction this server cannot run refuses the request rather than widening
it (scopes-and-launch-context.html, "finer-grained resource constraints")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.fhir.access_harness import Api, ids, is_forbidden, serve

LABS = "user/Patient.rs user/Observation.rs?category=laboratory"
LABS_OR_VITALS = f"{LABS} user/Observation.rs?category=vital-signs"


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    yield from serve(engine)


def test_a_search_gets_the_restriction_anded_in(api: Api) -> None:
    assert ids(api.get("/fhir/Observation", LABS)) == ["Observation/lab1", "Observation/lab2"]
    assert ids(api.get("/fhir/Observation?patient=p1", LABS)) == ["Observation/lab1"]
    assert ids(api.get("/fhir/Observation?code=8867-4", LABS)) == []


def test_several_restricted_scopes_of_a_type_are_ored(api: Api) -> None:
    response = api.get("/fhir/Observation?patient=p1", LABS_OR_VITALS)

    assert ids(response) == ["Observation/lab1", "Observation/vital1"]
    assert response.json()["total"] == 2


def test_an_unrestricted_scope_of_the_same_type_lifts_the_restriction(api: Api) -> None:
    response = api.get("/fhir/Observation?patient=p1", f"{LABS} user/Observation.rs")

    assert len(ids(response)) == 3


def test_a_restriction_with_a_patient_limit_keeps_both(api: Api) -> None:
    scope = "patient/Observation.rs?category=laboratory"

    assert ids(api.get("/fhir/Observation", scope, "p1")) == ["Observation/lab1"]


def test_a_read_of_a_resource_outside_the_restriction_is_404(api: Api) -> None:
    assert api.get("/fhir/Observation/lab1", LABS).status_code == 200
    assert api.get("/fhir/Observation/vital1", LABS).status_code == 404
    assert api.get("/fhir/Observation/vital1/_history/1", LABS).status_code == 404
    assert api.get("/fhir/Observation/vital1/_history", LABS).status_code == 404
    assert api.get("/fhir/Observation/vital1", LABS_OR_VITALS).status_code == 200


def test_includes_keep_only_resources_meeting_a_restriction(api: Api) -> None:
    query = "/fhir/Patient?_id=p1&_revinclude=Observation:subject"

    assert ids(api.get(query, LABS), "include") == ["Observation/lab1"]


def test_type_and_system_history_keep_only_resources_meeting_a_restriction(api: Api) -> None:
    type_history = api.get("/fhir/Observation/_history", LABS)
    system_history = api.get("/fhir/_history", LABS)

    assert ids(type_history) == ["Observation/lab1", "Observation/lab2"]
    assert ids(system_history) == [
        "Observation/lab1",
        "Observation/lab2",
        "Patient/p1",
        "Patient/p2",
    ]
    assert system_history.json()["total"] == 4


def test_a_restriction_the_server_cannot_run_refuses_the_request(api: Api) -> None:
    response = api.get("/fhir/Observation", "user/Observation.rs?no-such-parameter=1")

    assert is_forbidden(response)
    assert "no-such-parameter" in response.json()["issue"][0]["diagnostics"]


def test_a_restricted_write_scope_is_refused(api: Api) -> None:
    body = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    response = api.request(
        "POST", "/fhir/Observation", "user/Observation.c?category=laboratory", json=body
    )

    assert is_forbidden(response)
