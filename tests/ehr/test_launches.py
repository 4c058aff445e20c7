"""EHR launch handles: single use, short-lived, bound to clinician (and app)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, select

from isocenter.ehr.launches import Launches, LaunchRefused
from isocenter.store.schema import launch_context


def test_a_handle_gives_back_its_patient_encounter_and_clinician(engine: Engine) -> None:
    launches = Launches(engine)
    handle = launches.create(username="dr-a", patient_id="p1", encounter_id="e1")

    context = launches.redeem(handle, username="dr-a")

    assert (context.username, context.patient_id, context.encounter_id) == ("dr-a", "p1", "e1")


def test_a_handle_is_single_use(engine: Engine) -> None:
    launches = Launches(engine)
    handle = launches.create(username="dr-a", patient_id="p1")
    launches.redeem(handle, username="dr-a")

    with pytest.raises(LaunchRefused):
        launches.redeem(handle, username="dr-a")


def test_an_expired_handle_is_refused(engine: Engine) -> None:
    launches = Launches(engine, lifetime_seconds=0)
    handle = launches.create(username="dr-a", patient_id="p1")

    with pytest.raises(LaunchRefused):
        launches.redeem(handle, username="dr-a")


def test_another_clinician_cannot_use_the_handle_and_does_not_spend_it(engine: Engine) -> None:
    launches = Launches(engine)
    handle = launches.create(username="dr-a", patient_id="p1")

    with pytest.raises(LaunchRefused):
        launches.redeem(handle, username="dr-b")
    assert launches.redeem(handle, username="dr-a").patient_id == "p1"


def test_a_handle_bound_to_one_app_is_refused_to_another(engine: Engine) -> None:
    launches = Launches(engine)
    handle = launches.create(username="dr-a", patient_id="p1", client_id="app-1")

    with pytest.raises(LaunchRefused):
        launches.redeem(handle, username="dr-a", client_id="app-2")
    assert launches.redeem(handle, username="dr-a", client_id="app-1").client_id == "app-1"


def test_an_unknown_handle_is_refused(engine: Engine) -> None:
    with pytest.raises(LaunchRefused):
        Launches(engine).redeem("made-up", username="dr-a")


def test_only_the_hash_of_a_handle_is_stored_and_it_lives_five_minutes(
    engine: Engine,
) -> None:
    handle = Launches(engine).create(username="dr-a", patient_id="p1")

    with engine.connect() as conn:
        row = conn.execute(select(launch_context)).one()
    assert row.handle_hash == hashlib.sha256(handle.encode()).hexdigest()
    assert handle not in row
    assert row.expires_at - row.created_at == 300 * 1_000_000
