"""Demo logins: made once on first serve, linked to the demo cohort, passwords printed
once and never logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from isocenter import app as app_module
from isocenter.admin.demo_logins import DEMO_CLINICIANS, create_demo_logins
from isocenter.auth.users import Users
from isocenter.config import Settings
from isocenter.ingest.demo import DEMO_PATIENT_IDS, DEMO_PRACTITIONER_IDS
from isocenter.store.engine import make_engine
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import resource


def put_demo_patient(engine: Engine) -> None:
    """Enough of the demo cohort for the logins to know it is there."""
    id = DEMO_PATIENT_IDS[0]
    with engine.begin() as conn:
        conn.execute(
            insert(resource).values(
                resource_type="Patient",
                id=id,
                version_id=1,
                last_updated=now_microseconds(),
                deleted=False,
                content=json.dumps({"resourceType": "Patient", "id": id}),
            )
        )


@pytest.fixture
def printed() -> list[str]:
    return []


def test_one_login_per_demo_patient_a_few_clinicians_and_one_admin(
    engine: Engine, printed: list[str]
) -> None:
    put_demo_patient(engine)

    create_demo_logins(engine, out=printed.append)

    users = Users(engine).list()
    patients = sorted(u.patient_id or "" for u in users if u.role == "patient")
    clinicians = [u.practitioner_id or "" for u in users if u.role == "clinician"]
    assert patients == sorted(DEMO_PATIENT_IDS)
    assert sorted(clinicians) == sorted(DEMO_CLINICIANS)
    assert set(clinicians) <= set(DEMO_PRACTITIONER_IDS)
    assert [u.username for u in users if u.role == "admin"] == ["admin"]


def test_printed_passwords_sign_in(engine: Engine, printed: list[str]) -> None:
    put_demo_patient(engine)

    logins = create_demo_logins(engine, out=printed.append)

    users = Users(engine)
    for login in (logins[0], logins[1], logins[-1]):
        assert users.authenticate(login.username, login.password).role == login.role
        assert any(login.password in line and login.username in line for line in printed)


def test_logins_are_made_only_once(engine: Engine, printed: list[str]) -> None:
    put_demo_patient(engine)
    first = create_demo_logins(engine, out=printed.append)
    lines = len(printed)

    again = create_demo_logins(engine, out=printed.append)

    assert first and again == []
    assert len(printed) == lines
    assert len(Users(engine).list()) == len(first)


def test_no_logins_without_the_demo_cohort(engine: Engine, printed: list[str]) -> None:
    assert create_demo_logins(engine, out=printed.append) == []
    assert Users(engine).list() == [] and printed == []


def test_first_serve_prints_the_passwords_once_and_never_logs_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'serve.db'}")
    served: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: served.append(args))
    monkeypatch.setattr(
        app_module, "load_demo", lambda settings, engine: put_demo_patient(engine)
    )
    caplog.set_level(logging.DEBUG)

    app_module.run(settings)
    first = capsys.readouterr().out
    monkeypatch.setattr(app_module, "load_demo", lambda settings, engine: None)
    app_module.run(settings)
    second = capsys.readouterr().out

    engine = make_engine(settings.database_url)
    admin_line = next(line for line in first.splitlines() if " admin " in line)
    password = admin_line.split()[2]
    assert Users(engine).authenticate("admin", password).role == "admin"
    assert first.count(password) == 1
    assert password not in second and "Demo logins" not in second
    assert password not in caplog.text
    assert len(served) == 2
    engine.dispose()
