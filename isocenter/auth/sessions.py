"""Sign-in sessions of the browser pages, their cookie, and the CSRF token of every form.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure when the public base
URL is https); the ``browser_session`` table keeps only its SHA-256. The authorize, consent,
picker, manage and logout pages, the admin pages and the EHR all share it.

CSRF: every form carries the value of a second random cookie (``isocenter_csrf``, the
"double submit" pattern of the OWASP CSRF cheat sheet); another site can neither read that
cookie nor, with SameSite=Lax, send it on a cross-site POST. It is replaced at sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth.database import reading
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import browser_session

SESSION_COOKIE = "isocenter_session"
CSRF_COOKIE = "isocenter_csrf"
CSRF_FIELD = "csrf_token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class BrowserSession:
    """One live sign-in."""

    session_hash: str
    username: str
    created_at: int
    expires_at: int


class Sessions:
    """Sign-in sessions in the ``browser_session`` table."""

    def __init__(self, engine: Engine, *, lifetime_seconds: int) -> None:
        self.engine = engine
        self.lifetime_seconds = lifetime_seconds

    def start(self, username: str) -> tuple[str, BrowserSession]:
        """A new session for ``username``: its token (for the cookie, shown once) and row."""
        token = secrets.token_urlsafe(32)
        now = now_microseconds()
        session = BrowserSession(
            session_hash=token_hash(token),
            username=username,
            created_at=now,
            expires_at=now + self.lifetime_seconds * 1_000_000,
        )
        with self.engine.begin() as conn:
            conn.execute(insert(browser_session).values(**session.__dict__))
        return token, session

    def find(self, token: str | None) -> BrowserSession | None:
        """The live session behind ``token``: not ended, not expired."""
        if not token:
            return None
        table = browser_session
        statement = select(table).where(
            table.c.session_hash == token_hash(token),
            table.c.ended_at.is_(None),
            table.c.expires_at > now_microseconds(),
        )
        with reading(self.engine) as conn:
            row = conn.execute(statement).first()
        if row is None:
            return None
        return BrowserSession(row.session_hash, row.username, row.created_at, row.expires_at)

    def end(self, token: str | None) -> BrowserSession | None:
        """End the session behind ``token``; the session it was, if it was live."""
        session = self.find(token)
        if session is None:
            return None
        table = browser_session
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.session_hash == session.session_hash)
                .values(ended_at=now_microseconds())
            )
        return session

    def current(self, request: Request) -> BrowserSession | None:
        """The live session of the browser that sent ``request``."""
        return self.find(request.cookies.get(SESSION_COOKIE))


def set_session_cookie(
    response: Response, token: str, session: BrowserSession, *, secure: bool
) -> None:
    max_age = max(0, (session.expires_at - now_microseconds()) // 1_000_000)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)


class CsrfRefused(Exception):
    """A form came back without the CSRF token of the browser that was shown it."""


def csrf_token(request: Request) -> str:
    """The browser's CSRF token, or a new one that ``set_csrf_cookie`` must send."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure)


def check_csrf(request: Request, submitted: object) -> None:
    """Raise ``CsrfRefused`` unless the form's token equals the browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not isinstance(submitted, str):
        raise CsrfRefused("the form has expired; load the page again")
    if not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise CsrfRefused("the form has expired; load the page again")
