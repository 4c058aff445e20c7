"""The revocation list: jtis of access tokens that must no longer be honoured.

Access tokens are checked without a database round trip, so each process keeps the list
in memory and reloads it from ``revoked_token`` at most once a second: another process's
revocation is seen within a second, this process's at once. Rows are kept until the token
would have expired anyway (RFC 7009 §2.2: revocation takes effect immediately).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from isocenter.auth.database import reading
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import access_token, authorization, refresh_token, revoked_token

RELOAD_SECONDS = 1.0
PURGE_SECONDS = 300.0


class RevocationList:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._revoked: set[str] = set()
        self._recent: dict[str, float] = {}  # revoked here, with when (monotonic)
        self._loaded_at = float("-inf")
        self._purged_at = time.monotonic()

    def is_revoked(self, jti: str) -> bool:
        if time.monotonic() - self._loaded_at >= RELOAD_SECONDS:
            self._reload()
        return jti in self._revoked

    def revoke(self, jti: str, expires_at: int) -> None:
        """Revoke one access token; ``expires_at`` (µs) is when its row may go."""
        with self.engine.begin() as conn:
            _insert_revoked(conn, jti, expires_at)
        self._remember([jti])

    def revoke_authorization(self, authorization_id: str) -> int:
        """Revoke a grant: its refresh tokens and every unexpired access token issued under it.

        Returns how many access tokens were revoked.
        """
        where = authorization.c.authorization_id == authorization_id
        return self._revoke_grants(where)

    def revoke_client(self, client_id: str) -> int:
        """Revoke every grant made to one app (a site admin's action, or a disabled app)."""
        return self._revoke_grants(authorization.c.client_id == client_id)

    def revoke_user(self, username: str) -> int:
        """Revoke every grant a user has made."""
        return self._revoke_grants(authorization.c.username == username)

    def _revoke_grants(self, where: ColumnElement[bool]) -> int:
        now = now_microseconds()
        with self.engine.begin() as conn:
            ids = list(conn.scalars(select(authorization.c.authorization_id).where(where)))
            if not ids:
                return 0
            conn.execute(
                update(authorization)
                .where(authorization.c.authorization_id.in_(ids))
                .where(authorization.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(
                update(refresh_token)
                .where(refresh_token.c.authorization_id.in_(ids))
                .where(refresh_token.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            tokens = conn.execute(
                select(access_token.c.jti, access_token.c.expires_at)
                .where(access_token.c.authorization_id.in_(ids))
                .where(access_token.c.expires_at > now)
            ).all()
            for jti, expires_at in tokens:
                _insert_revoked(conn, jti, expires_at)
        self._remember(jti for jti, _ in tokens)
        return len(tokens)

    def _remember(self, jtis: Iterable[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for jti in jtis:
                self._revoked.add(jti)
                self._recent[jti] = now

    def _reload(self) -> None:
        started = time.monotonic()
        now = now_microseconds()
        with reading(self.engine) as conn:
            revoked = set(
                conn.scalars(
                    select(revoked_token.c.jti).where(revoked_token.c.expires_at > now)
                )
            )
        with self._lock:
            # What this process revoked while the read ran may be missing from it.
            self._recent = {jti: at for jti, at in self._recent.items() if at >= started}
            self._revoked = revoked | set(self._recent)
            self._loaded_at = started
        if time.monotonic() - self._purged_at >= PURGE_SECONDS:
            self.purge()

    def purge(self) -> None:
        """Drop rows of tokens that have expired: they are refused for expiry alone."""
        now = now_microseconds()
        with self.engine.begin() as conn:
            conn.execute(delete(revoked_token).where(revoked_token.c.expires_at <= now))
            conn.execute(delete(access_token).where(access_token.c.expires_at <= now))
        self._purged_at = time.monotonic()


def _insert_revoked(conn: Connection, jti: str, expires_at: int) -> None:
    exists = conn.scalar(select(revoked_token.c.jti).where(revoked_token.c.jti == jti))
    if exists is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(revoked_token).values(jti=jti, expires_at=expires_at))
    except IntegrityError:
        pass  # revoked at the same moment by another process: the row is there
