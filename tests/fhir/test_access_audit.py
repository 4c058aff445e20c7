"""Audit events of FHIR interactions: one per read, search, history and write (one per
Bundle entry), with the app, the user, the patient, the action, the type, the id, the
parameter names (never their values) and the status, refusals included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from isocenter.auth.audit import flush_pending
from isocenter.store.schema import audit_event
from tests.fhir.access_harness import CLIENT_ID, Api, serve


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    yield from serve(engine)


def events(api: Api) -> list[Any]:
    api.app.state.audit.flush()
    with api.app.state.auth.engine.connect() as conn:
        return list(conn.execute(select(audit_event).order_by(audit_event.c.id)))


def last(api: Api) -> Any:
    return events(api)[-1]


@pytest.mark.parametrize(
    ("path", "action", "resource_id"),
    [
        ("/fhir/Patient/p1", "read", "p1"),
        ("/fhir/Patient/p1/_history/1", "read", "p1"),
        ("/fhir/Patient/p1/_history", "history", "p1"),
        ("/fhir/Patient/_history", "history", None),
        ("/fhir/Patient?name=One", "search", None),
    ],
)
def test_each_read_interaction_records_one_event(
    api: Api, path: str, action: str, resource_id: str | None
) -> None:
    before = len(events(api))
    api.get(path, "user/*.rs")

    event = last(api)
    assert len(events(api)) == before + 1
    assert (event.action, event.resource_type, event.resource_id) == (
        action,
        "Patient",
        resource_id,
    )
    assert (event.client_id, event.outcome) == (CLIENT_ID, 200)


def test_search_records_parameter_names_never_values(api: Api) -> None:
    api.get("/fhir/Observation?patient=p1&code=718-7&code=8867-4&_count=5", "user/*.rs")

    event = last(api)
    assert event.query == "_count,code,patient"
    assert "p1" not in event.query and "718-7" not in event.query


def test_post_search_records_the_form_parameter_names(api: Api) -> None:
    api.request(
        "POST",
        "/fhir/Observation/_search",
        "user/*.rs",
        content="patient=p1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert last(api).query == "patient"


def test_a_patient_limited_access_records_its_patient(api: Api) -> None:
    api.get("/fhir/Observation/lab2", "patient/*.rs", "p1")

    event = last(api)
    assert (event.patient_id, event.action, event.outcome) == ("p1", "read", 404)


def test_a_refusal_is_recorded_with_403(api: Api) -> None:
    api.get("/fhir/Condition", "user/Patient.rs")

    event = last(api)
    assert (event.action, event.resource_type, event.outcome) == ("search", "Condition", 403)


def test_system_history_records_no_type(api: Api) -> None:
    api.get("/fhir/_history", "user/*.rs")

    assert (last(api).action, last(api).resource_type) == ("history", None)


def test_writes_record_their_action(api: Api) -> None:
    body = {"resourceType": "Patient", "id": "p7"}
    api.request("PUT", "/fhir/Patient/p7", "user/*.cruds", json=body)
    api.request("POST", "/fhir/Patient", "user/*.cruds", json={"resourceType": "Patient"})
    api.request("DELETE", "/fhir/Patient/p7", "user/*.cruds")

    recorded = [(e.action, e.resource_id, e.outcome) for e in events(api)[-3:]]
    assert recorded[0] == ("update", "p7", 201)
    assert recorded[1][0::2] == ("create", 201) and recorded[1][1] not in (None, "p7")
    assert recorded[2] == ("delete", "p7", 200)


def test_a_bundle_records_one_event_per_entry(api: Api) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/p1"}},
            {"request": {"method": "GET", "url": "Condition/c1"}},
            {"request": {"method": "DELETE", "url": "Patient/p2"}},
        ],
    }
    api.request("POST", "/fhir", "user/Patient.rd", json=bundle)

    recorded = [(e.action, e.resource_type, e.resource_id, e.outcome) for e in events(api)[-3:]]
    assert recorded == [
        ("read", "Patient", "p1", 200),
        ("read", "Condition", "c1", 403),
        ("delete", "Patient", "p2", 200),
    ]


def test_an_app_without_the_guard_records_nothing(client: Any, engine: Engine) -> None:
    client.get("/fhir/Patient")

    flush_pending(engine)
    with engine.connect() as conn:
        assert list(conn.execute(select(audit_event))) == []
