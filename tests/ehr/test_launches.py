"""EHR launch handles: single use, short-lived, bound to clinician and app.

Made by ``isocenter.ehr.launches``, looked up and spent by the authorize endpoint's
``isocenter.auth.launch``: both halves are exercised together here.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, select

from isocenter.auth.launch import LaunchRefused, look_up, spend
from isocenter.ehr.launches import create_launch
from isocenter.store.schema import launch_context


def redeem(
    engine: Engine, handle: str, username: str = "dr-a", client_id: str = "app-1"
) -> str:
    context = look_up(engine, handle, username=username, client_id=client_id)
    with engine.begin() as conn:
        spend(conn, context, username=username)
    return f"{context.patient_id}/{context.encounter_id}"


def test_a_handle_carries_the_patient_and_encounter_the_clinician_chose(
    engine: Engine,
) -> None:
    handle = create_launch(engine, username="dr-a", patient_id="p1", encounter_id="e1")

    assert redeem(engine, handle) == "p1/e1"


def test_a_handle_is_single_use(engine: Engine) -> None:
    handle = create_launch(engine, username="dr-a", patient_id="p1")
    redeem(engine, handle)

    with pytest.raises(LaunchRefused):
        redeem(engine, handle)


def test_an_expired_handle_is_refused(engine: Engine) -> None:
    handle = create_launch(engine, username="dr-a", patient_id="p1", lifetime_seconds=0)

    with pytest.raises(LaunchRefused):
        redeem(engine, handle)


def test_another_clinician_cannot_use_the_handle_nor_spend_it(engine: Engine) -> None:
    handle = create_launch(engine, username="dr-a", patient_id="p1")

    with pytest.raises(LaunchRefused):
        redeem(engine, handle, username="dr-b")
    assert redeem(engine, handle) == "p1/None"


def test_a_handle_made_for_one_app_is_refused_to_another(engine: Engine) -> None:
    handle = create_launch(engine, username="dr-a", patient_id="p1", client_id="app-1")

    with pytest.raises(LaunchRefused):
        redeem(engine, handle, client_id="app-2")
    assert redeem(engine, handle, client_id="app-1") == "p1/None"


def test_only_the_hash_of_a_handle_is_stored_and_it_lives_five_minutes(
    engine: Engine,
) -> None:
    handle = create_launch(engine, username="dr-a", patient_id="p1")

    with engine.connect() as conn:
        row = conn.execute(select(launch_context)).one()
    assert row.handle_hash == hashlib.sha256(handle.encode()).hexdigest()
    assert handle not in row
    assert row.expires_at - row.created_at == 300 * 1_000_000
