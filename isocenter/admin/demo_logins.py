"""Demo logins: one per demo patient, a few clinicians and one site admin.

Made on the first ``isocenter serve`` of a store with the demo cohort, with random
passwords printed once to standard output for the person who started the server. They
never go to a log: the ``isocenter`` loggers may be shipped elsewhere; the terminal is not.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from isocenter.auth.users import Users
from isocenter.ingest.demo_cases import Case
from isocenter.ingest.demo_cohort import CASES
from isocenter.ingest.demo_directory import CLINICIAN_BY_ID
from isocenter.store.schema import resource

# Clinicians with a login: an oncologist of each kind and the oncology nurse.
DEMO_CLINICIANS = ("demo-pr-medonc-1", "demo-pr-radonc-1", "demo-pr-nurse-1")
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    linked_to: str  # "Patient/demo-p01", "Practitioner/...", or "" for the admin
    display_name: str


def demo_logins() -> list[DemoLogin]:
    """The logins to create, each with a fresh random password."""
    logins = [_admin()]
    logins += [_clinician(id) for id in DEMO_CLINICIANS]
    logins += [_patient(case) for case in CASES]
    return logins


def create_demo_logins(engine: Engine, out: Callable[[str], None] = print) -> list[DemoLogin]:
    """Create the demo logins when the demo cohort is in the store and no user exists yet;
    print their passwords once."""
    users = Users(engine)
    if users.list() or not _demo_cohort_loaded(engine):
        return []
    logins = demo_logins()
    for login in logins:
        kind, _, id = login.linked_to.partition("/")
        users.add(
            login.username,
            login.password,
            login.role,
            patient_id=id if kind == "Patient" else None,
            practitioner_id=id if kind == "Practitioner" else None,
            display_name=login.display_name,
        )
    for line in _table(logins):
        out(line)
    return logins


def _demo_cohort_loaded(engine: Engine) -> bool:
    first = CASES[0].patient_id
    statement = select(resource.c.id).where(
        resource.c.resource_type == "Patient", resource.c.id == first
    )
    with engine.connect() as conn:
        return conn.execute(statement).first() is not None


def _admin() -> DemoLogin:
    return DemoLogin(ADMIN_USERNAME, _password(), "admin", "", "Site admin")


def _clinician(practitioner_id: str) -> DemoLogin:
    clinician = CLINICIAN_BY_ID[practitioner_id]
    username = _username(clinician.given, clinician.family)
    linked = f"Practitioner/{practitioner_id}"
    return DemoLogin(username, _password(), "clinician", linked, clinician.display)


def _patient(case: Case) -> DemoLogin:
    person = case.person
    username = _username(person.given[0], person.family)
    linked = f"Patient/{case.patient_id}"
    display = f"{' '.join(person.given)} {person.family}"
    return DemoLogin(username, _password(), "patient", linked, display)


def _username(given: str, family: str) -> str:
    """``rosalind.marlowe-achebe``: lower case ASCII, easy to type."""
    text = unicodedata.normalize("NFKD", f"{given}.{family}").encode("ascii", "ignore")
    return text.decode().lower().replace(" ", "-").replace("'", "")


def _password() -> str:
    return secrets.token_urlsafe(12)


def _table(logins: list[DemoLogin]) -> list[str]:
    lines = ["Demo logins (shown only now; Isocenter keeps only password hashes):"]
    for login in logins:
        lines.append(
            f"  {login.role:<10} {login.username:<28} {login.password:<18} {login.linked_to}"
        )
    return lines
