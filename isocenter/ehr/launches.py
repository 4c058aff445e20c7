"""EHR launch handles: the opaque ``launch`` value the EHR gives an app it opens.

SMART App Launch 2.x, "EHR launch" (https://hl7.org/fhir/smart-app-launch/app-launch.html
#launch-app-ehr-launch): the EHR opens the app's launch URL with ``iss`` and ``launch``;
the app passes ``launch`` back in its authorize request, which then gets the patient (and
encounter) the clinician had open. A handle is random, kept only as its SHA-256, short-lived
and bound to the clinician who made it (and to the app chosen); the authorize endpoint
(``isocenter.auth.launch``) spends it once.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, insert

from isocenter.auth.launch import handle_hash
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import launch_context


def create_launch(
    engine: Engine,
    *,
    username: str,
    patient_id: str,
    encounter_id: str | None = None,
    client_id: str | None = None,
    lifetime_seconds: int = 300,
) -> str:
    """A new launch handle for ``username`` with ``patient_id`` open; returned only here."""
    handle = secrets.token_urlsafe(32)
    now = now_microseconds()
    row = {
        "handle_hash": handle_hash(handle),
        "username": username,
        "patient_id": patient_id,
        "encounter_id": encounter_id,
        "client_id": client_id,
        "created_at": now,
        "expires_at": now + lifetime_seconds * 1_000_000,
    }
    with engine.begin() as conn:
        conn.execute(insert(launch_context).values(row))
    return handle
