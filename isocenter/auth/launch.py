"""EHR launch handles as the authorize endpoint reads and spends them.

SMART App Launch 2.x, "EHR launch" (app-launch.html#launch-app-ehr-launch): the app passes
the opaque ``launch`` value back in its authorize request. The EHR (isocenter/ehr) makes
the handles in the ``launch_context`` table; here a handle is looked at on each page of
the flow without being spent, and spent in the transaction that issues the code, so a
handle yields at most one code however many tabs race with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, select, update

from isocenter.auth.database import reading
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import launch_context


class LaunchRefused(Exception):
    """The handle is unknown, spent, expired, or belongs to another user or app."""


@dataclass(frozen=True)
class LaunchContext:
    handle_hash: str
    patient_id: str | None
    encounter_id: str | None


def handle_hash(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


def look_up(engine: Engine, handle: str, *, username: str, client_id: str) -> LaunchContext:
    """The context of a usable handle for this user and app; ``LaunchRefused`` otherwise."""
    key = handle_hash(handle)
    with reading(engine) as conn:
        row = conn.execute(select(launch_context).where(*_usable(key, username))).first()
    if row is None or row.client_id not in (None, client_id):
        raise LaunchRefused("launch is unknown, already used, expired or not yours")
    return LaunchContext(key, row.patient_id, row.encounter_id)


def spend(conn: Connection, launch: LaunchContext, *, username: str) -> None:
    """Mark the handle used inside the caller's transaction; refused if it already was."""
    spent = conn.execute(
        update(launch_context)
        .where(*_usable(launch.handle_hash, username))
        .values(used_at=now_microseconds())
    )
    if spent.rowcount != 1:
        raise LaunchRefused("launch has already been used")


def _usable(key: str, username: str) -> list[ColumnElement[bool]]:
    table = launch_context
    return [
        table.c.handle_hash == key,
        table.c.used_at.is_(None),
        table.c.expires_at > now_microseconds(),
        table.c.username == username,
    ]
