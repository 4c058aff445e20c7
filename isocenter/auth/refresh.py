"""Refresh tokens: issued with offline_access or online_access, rotated on every use.

RFC 6749 §6 and OAuth 2.0 Security BCP (RFC 9700 §4.14.2): each refresh spends the token
and hands out a new one of the same family; presenting a spent token again means it was
copied, so the caller revokes the whole grant. SMART App Launch 2.x
(scopes-and-launch-context.html#scopes-for-requesting-a-refresh-token): offline access
outlives the sign-in (here ``refresh_token_lifetime_seconds`` from each refresh), online
access ends with the sign-in session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from isocenter.auth.scopes import ScopeError, parse_scope
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import authorization, refresh_token

OFFLINE = "offline_access"
ONLINE = "online_access"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lasts_beyond_session(scope: str) -> bool:
    return any(s.text == OFFLINE for s in parse_scope(scope))


def wants_refresh(scope: str) -> bool:
    return any(s.text in (OFFLINE, ONLINE) for s in parse_scope(scope))


@dataclass(frozen=True)
class Refreshed:
    """A rotated refresh token's grant, and the token that replaces it."""

    token: str
    authorization_id: str
    client_id: str
    scope: str  # for the new access token: the grant's, or less when the app asked less
    username: str | None
    patient_id: str | None
    encounter_id: str | None


class RefreshRefused(Exception):
    """Unknown, expired, revoked or not this client's; ``reused`` names a copied one's grant."""

    def __init__(self, reason: str, *, reused: str | None = None) -> None:
        super().__init__(reason)
        self.reused = reused


class ScopeNotGranted(ValueError):
    """A refresh asked for a scope the grant does not hold."""


def narrowed(requested: str | None, granted: str) -> str:
    """``requested`` if the grant covers each of its scopes; the grant when none is asked."""
    if requested is None or not requested.strip():
        return granted
    held = parse_scope(granted)
    try:
        asked = parse_scope(requested)
    except ScopeError as exc:
        raise ScopeNotGranted(str(exc)) from exc
    wider = [s.text for s in asked if not any(mine.covers(s) for mine in held)]
    if wider:
        raise ScopeNotGranted(f"not granted: {' '.join(wider)}")
    return " ".join(s.text for s in asked)


class RefreshTokens:
    def __init__(self, engine: Engine, *, offline_lifetime_seconds: int) -> None:
        self.engine = engine
        self.offline_lifetime_seconds = offline_lifetime_seconds

    def issue(
        self, *, authorization_id: str, client_id: str, scope: str, expires_at: int
    ) -> str:
        """The first refresh token of a grant (a new family)."""
        with self.engine.begin() as conn:
            return _insert(
                conn, authorization_id, secrets.token_hex(16), client_id, scope, expires_at
            )

    def offline_expiry(self) -> int:
        return now_microseconds() + self.offline_lifetime_seconds * 1_000_000

    def rotate(self, token: str, *, client_id: str, scope: str | None = None) -> Refreshed:
        """Spend ``token`` and return its successor, or raise ``RefreshRefused``.

        ``scope`` (RFC 6749 §6) may narrow the new access token's scope, never widen it;
        a wider one raises ``ScopeNotGranted`` and leaves the token unspent.
        """
        key = token_hash(token)
        with self.engine.begin() as conn:
            row = _row(conn, key)
            _check(row, client_id)
            access_scope = narrowed(scope, row.scope)
            spent = conn.execute(
                update(refresh_token)
                .where(refresh_token.c.token_hash == key, refresh_token.c.used_at.is_(None))
                .values(used_at=now_microseconds())
            )
            if spent.rowcount != 1:
                raise RefreshRefused("refresh token already used", reused=row.authorization_id)
            expires_at = self._next_expiry(conn, row)
            successor = _insert(
                conn, row.authorization_id, row.family_id, client_id, row.scope, expires_at
            )
        return Refreshed(
            token=successor,
            authorization_id=row.authorization_id,
            client_id=client_id,
            scope=access_scope,
            username=row.username,
            patient_id=row.patient_id,
            encounter_id=row.encounter_id,
        )

    def _next_expiry(self, conn: Connection, row: Any) -> int:
        """Offline: a new full period, and the grant with it; online: the session's end."""
        if not lasts_beyond_session(row.scope):
            return int(row.expires_at)
        expires_at = self.offline_expiry()
        conn.execute(
            update(authorization)
            .where(authorization.c.authorization_id == row.authorization_id)
            .values(expires_at=expires_at)
        )
        return expires_at


def _row(conn: Connection, key: str) -> Any:
    statement = (
        select(
            refresh_token,
            authorization.c.username,
            authorization.c.patient_id,
            authorization.c.encounter_id,
            authorization.c.revoked_at.label("grant_revoked_at"),
        )
        .join(
            authorization,
            authorization.c.authorization_id == refresh_token.c.authorization_id,
        )
        .where(refresh_token.c.token_hash == key)
    )
    return conn.execute(statement).first()


def _check(row: Any, client_id: str) -> None:
    if row is None or row.client_id != client_id:
        raise RefreshRefused("refresh token is not known for this client")
    if row.revoked_at is not None or row.grant_revoked_at is not None:
        raise RefreshRefused("refresh token has been revoked")
    if row.used_at is not None:
        raise RefreshRefused("refresh token already used", reused=row.authorization_id)
    if row.expires_at <= now_microseconds():
        raise RefreshRefused("refresh token has expired")


def _insert(
    conn: Connection,
    authorization_id: str,
    family_id: str,
    client_id: str,
    scope: str,
    expires_at: int,
) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(refresh_token).values(
            token_hash=token_hash(token),
            authorization_id=authorization_id,
            family_id=family_id,
            client_id=client_id,
            scope=scope,
            created_at=now_microseconds(),
            expires_at=expires_at,
        )
    )
    return token
