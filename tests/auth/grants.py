"""Grants, refresh tokens and access tokens written straight into the tables, for tests
of introspection and revocation that need tokens without running the browser flow."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Engine, insert

from isocenter.auth.keys import SigningKeys
from isocenter.auth.tokens import issue_access_token
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import authorization, refresh_token

HOUR = 3600 * 1_000_000
SCOPE = "launch/patient openid fhirUser offline_access patient/*.read"


def grant(
    engine: Engine, client_id: str, *, username: str = "pat", patient_id: str = "p1"
) -> str:
    """A standing grant; returns its authorization id."""
    authorization_id = secrets.token_hex(8)
    with engine.begin() as conn:
        conn.execute(
            insert(authorization).values(
                authorization_id=authorization_id,
                username=username,
                client_id=client_id,
                scope=SCOPE,
                patient_id=patient_id,
                created_at=now_microseconds(),
                expires_at=now_microseconds() + HOUR,
            )
        )
    return authorization_id


def refresh(engine: Engine, authorization_id: str, client_id: str, **values: object) -> str:
    """A refresh token of the grant; returns the token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = now_microseconds()
    row = {
        "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        "authorization_id": authorization_id,
        "family_id": authorization_id,
        "client_id": client_id,
        "scope": SCOPE,
        "created_at": now,
        "expires_at": now + HOUR,
        **values,
    }
    with engine.begin() as conn:
        conn.execute(insert(refresh_token).values(**row))
    return token


def access(keys: SigningKeys, authorization_id: str | None, client_id: str) -> str:
    token, _, _ = issue_access_token(
        keys,
        client_id=client_id,
        username="pat",
        scope=SCOPE,
        patient="p1",
        encounter=None,
        fhir_user="Patient/p1",
        authorization_id=authorization_id,
    )
    return token
