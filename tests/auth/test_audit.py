"""Audit events: stored as data, parameter names only, newest first, filtered."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from isocenter.auth.audit import recent, record


def test_an_event_keeps_parameter_names_not_values(engine: Engine) -> None:
    record(
        engine,
        action="search",
        outcome=200,
        client_id="app-1",
        username="dr",
        patient_id="p1",
        resource_type="Observation",
        query=["patient", "code", "patient"],
    )

    [event] = recent(engine)
    assert event.query == "code,patient"
    assert (event.action, event.outcome, event.resource_type) == ("search", 200, "Observation")
    assert (event.client_id, event.username, event.patient_id) == ("app-1", "dr", "p1")
    assert event.recorded_at > 0


def test_recent_is_newest_first_and_filters(engine: Engine) -> None:
    record(engine, action="login", outcome=200, username="dr")
    record(engine, action="read", outcome=200, client_id="app-1", patient_id="p1")
    record(engine, action="read", outcome=404, client_id="app-2", patient_id="p2")

    assert [e.outcome for e in recent(engine, actions=["read"])] == [404, 200]
    assert [e.client_id for e in recent(engine, patient_id="p1")] == ["app-1"]
    assert [e.action for e in recent(engine, username="dr")] == ["login"]
    assert len(recent(engine, limit=2)) == 2


def test_an_unknown_action_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError):
        record(engine, action="peek", outcome=200)
