"""EHR launch handles: the opaque ``launch`` value an app receives from the EHR.

SMART App Launch 2.x, "EHR launch" (https://hl7.org/fhir/smart-app-launch/app-launch.html
#launch-app-ehr-launch): the EHR opens the app's launch URL with ``iss`` and ``launch``;
the app passes ``launch`` back in its authorize request, which then gets the patient (and
encounter) the clinician had open. A handle here is random, stored only as its SHA-256,
single use, short-lived and bound to the clinician who made it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from isocenter.store.instants import now_microseconds
from isocenter.store.schema import launch_context


class LaunchRefused(Exception):
    """The handle is unknown, spent, expired, or was made for someone else."""


@dataclass(frozen=True)
class LaunchContext:
    """What an EHR launch hands to the authorization it starts."""

    username: str
    patient_id: str | None
    encounter_id: str | None
    client_id: str | None
    expires_at: int


def handle_hash(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


class Launches:
    """Launch handles in the ``launch_context`` table."""

    def __init__(self, engine: Engine, *, lifetime_seconds: int = 300) -> None:
        self.engine = engine
        self.lifetime_seconds = lifetime_seconds

    def create(
        self,
        *,
        username: str,
        patient_id: str,
        encounter_id: str | None = None,
        client_id: str | None = None,
    ) -> str:
        """A new handle for ``username`` with ``patient_id`` open; returned once."""
        handle = secrets.token_urlsafe(32)
        now = now_microseconds()
        row = {
            "handle_hash": handle_hash(handle),
            "username": username,
            "patient_id": patient_id,
            "encounter_id": encounter_id,
            "client_id": client_id,
            "created_at": now,
            "expires_at": now + self.lifetime_seconds * 1_000_000,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(launch_context).values(row))
        return handle

    def redeem(
        self, handle: str, *, username: str, client_id: str | None = None
    ) -> LaunchContext:
        """Spend ``handle`` for ``username`` (and ``client_id``); refuse it otherwise.

        One conditional UPDATE marks it used, so two requests racing with one handle
        cannot both win.
        """
        table = launch_context
        key = handle_hash(handle)
        now = now_microseconds()
        conditions = [
            table.c.handle_hash == key,
            table.c.used_at.is_(None),
            table.c.expires_at > now,
            table.c.username == username,
        ]
        with self.engine.begin() as conn:
            row = conn.execute(select(table).where(*conditions)).first()
            if row is None or not _client_matches(row.client_id, client_id):
                raise LaunchRefused("launch is unknown, used, expired or not yours")
            spent = conn.execute(update(table).where(*conditions).values(used_at=now))
            if spent.rowcount != 1:
                raise LaunchRefused("launch is unknown, used, expired or not yours")
        return LaunchContext(
            username=row.username,
            patient_id=row.patient_id,
            encounter_id=row.encounter_id,
            client_id=row.client_id,
            expires_at=row.expires_at,
        )


def _client_matches(bound: str | None, asked: str | None) -> bool:
    # A handle made for one app is refused to another; an unbound handle fits any app.
    return bound is None or asked is None or bound == asked
