"""Authorization codes and the grants (``authorization`` rows) they are issued under.

RFC 6749 §4.1.2: a code is short-lived, single use, and bound to the client and the
redirect URI; RFC 7636 binds it to the PKCE challenge too. Each approval on the consent
page creates one authorization (what the management page lists and what revocation
acts on) and one code for it. Codes are kept only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from isocenter.auth.database import reading
from isocenter.auth.launch import LaunchContext, spend
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import authorization, authorization_code


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class Approval:
    """What the user approved on the consent page, ready to become a code."""

    username: str
    client_id: str
    scope: str
    patient_id: str | None
    encounter_id: str | None
    redirect_uri: str
    code_challenge: str | None
    nonce: str | None
    context: dict[str, Any]  # token response launch context: patient, need_patient_banner...
    expires_at: int  # µs: when the grant ends unless refreshed (see grant_expiry)


@dataclass(frozen=True)
class CodeGrant:
    """A redeemed code: the grant it was issued under and what it is bound to."""

    authorization_id: str
    username: str | None
    client_id: str
    scope: str
    patient_id: str | None
    encounter_id: str | None
    redirect_uri: str
    code_challenge: str | None
    nonce: str | None
    context: dict[str, Any]
    created_at: int
    expires_at: int | None  # the grant's: when it ends unless refreshed


class CodeRefused(Exception):
    """The code is unknown, expired or spent; ``reused`` names the grant of a spent one."""

    def __init__(self, reason: str, *, reused: str | None = None) -> None:
        super().__init__(reason)
        self.reused = reused


class AuthorizationCodes:
    def __init__(self, engine: Engine, *, lifetime_seconds: int) -> None:
        self.engine = engine
        self.lifetime_seconds = lifetime_seconds

    def issue(self, approval: Approval, launch: LaunchContext | None = None) -> str:
        """Record the grant and its code (spending the EHR launch handle); return the code."""
        code = secrets.token_urlsafe(32)
        authorization_id = secrets.token_hex(16)
        now = now_microseconds()
        with self.engine.begin() as conn:
            if launch is not None:
                spend(conn, launch, username=approval.username)
            conn.execute(insert(authorization).values(_grant_row(approval, authorization_id)))
            conn.execute(
                insert(authorization_code).values(
                    code_hash=code_hash(code),
                    authorization_id=authorization_id,
                    client_id=approval.client_id,
                    redirect_uri=approval.redirect_uri,
                    code_challenge=approval.code_challenge,
                    nonce=approval.nonce,
                    context=json.dumps(approval.context),
                    created_at=now,
                    expires_at=now + self.lifetime_seconds * 1_000_000,
                )
            )
        return code

    def redeem(self, code: str) -> CodeGrant:
        """Spend ``code``: one conditional UPDATE, so two racing requests cannot both win."""
        table = authorization_code
        key = code_hash(code)
        now = now_microseconds()
        with self.engine.begin() as conn:
            row = conn.execute(select(table).where(table.c.code_hash == key)).first()
            if row is None:
                raise CodeRefused("code is not known")
            spent = conn.execute(
                update(table)
                .where(table.c.code_hash == key, table.c.used_at.is_(None))
                .values(used_at=now)
            )
            if spent.rowcount != 1:
                raise CodeRefused("code has already been used", reused=row.authorization_id)
            if row.expires_at <= now:
                raise CodeRefused("code has expired")
            grant = conn.execute(
                select(authorization).where(
                    authorization.c.authorization_id == row.authorization_id,
                    authorization.c.revoked_at.is_(None),
                )
            ).first()
        if grant is None:
            raise CodeRefused("the grant behind this code has been revoked")
        return _code_grant(row, grant)

    def context(self, authorization_id: str) -> dict[str, Any]:
        """The launch context recorded with a grant's code (for refresh responses)."""
        table = authorization_code
        with reading(self.engine) as conn:
            text = conn.scalar(
                select(table.c.context).where(table.c.authorization_id == authorization_id)
            )
        return dict(json.loads(text)) if text else {}


def _grant_row(approval: Approval, authorization_id: str) -> dict[str, Any]:
    return {
        "authorization_id": authorization_id,
        "username": approval.username,
        "client_id": approval.client_id,
        "scope": approval.scope,
        "patient_id": approval.patient_id,
        "encounter_id": approval.encounter_id,
        "created_at": now_microseconds(),
        "expires_at": approval.expires_at,
    }


def _code_grant(row: Any, grant: Any) -> CodeGrant:
    return CodeGrant(
        authorization_id=grant.authorization_id,
        username=grant.username,
        client_id=row.client_id,
        scope=grant.scope,
        patient_id=grant.patient_id,
        encounter_id=grant.encounter_id,
        redirect_uri=row.redirect_uri,
        code_challenge=row.code_challenge,
        nonce=row.nonce,
        context=json.loads(row.context),
        created_at=row.created_at,
        expires_at=grant.expires_at,
    )
