"""``/auth/logout``: ends the sign-in session and sends the browser to the app's sign-off URL.

OpenID Connect RP-Initiated Logout 1.0 §2-§3: the app names itself with ``client_id`` or
``id_token_hint`` (an id_token we issued; accepted after it expired, as §2 allows) and may
ask for ``post_logout_redirect_uri``, which must be the sign-off URL it registered;
anything else is refused on a page and the browser goes nowhere (no open redirector).
Grants made with ``online_access`` during the session end with it (SMART App Launch 2.x).
"""

from __future__ import annotations

from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth.authorization_request import PageError, redirect_to
from isocenter.auth.browser import Browser, browser
from isocenter.auth.clients import App
from isocenter.auth.database import reading
from isocenter.auth.keys import ALGORITHM
from isocenter.auth.refresh import ONLINE, lasts_beyond_session
from isocenter.auth.scopes import parse_scope
from isocenter.auth.sessions import SESSION_COOKIE, BrowserSession, clear_session_cookie
from isocenter.store.schema import authorization

LOGOUT_PATH = "/auth/logout"


async def logout(request: Request) -> Response:
    """``GET|POST /auth/logout``."""
    parts = browser(request)
    if request.method == "POST":
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        params = dict(request.query_params)
    return await run_in_threadpool(_logout, parts, request, params)


def _logout(parts: Browser, request: Request, params: dict[str, str]) -> Response:
    try:
        app = _app(parts, params.get("client_id"), params.get("id_token_hint"))
        target = _target(app, params.get("post_logout_redirect_uri"))
    except PageError as error:
        return parts.pages.error(request, error.title, error.message)
    session = parts.sessions.end(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        _end_online_grants(parts, session)
    response: Response
    if target is not None:
        response = parts.pages.redirect(redirect_to(target, {"state": params.get("state")}))
    else:
        response = parts.pages.render(request, "signed_out.html", title="Signed out")
    clear_session_cookie(response, secure=parts.secure)
    return response


def _app(parts: Browser, client_id: str | None, hint: str | None) -> App | None:
    """The app asking, from ``client_id`` and/or ``id_token_hint`` (which must agree)."""
    hinted = _hint_audience(parts, hint) if hint else None
    if client_id and hinted and client_id != hinted:
        raise PageError("Sign-out refused", "The sign-out request names two different apps.")
    named = client_id or hinted
    if not named:
        return None
    app = parts.apps.get(named)
    if app is None:
        raise PageError("Sign-out refused", "The app asking you to sign out is not registered.")
    return app


def _target(app: App | None, requested: str | None) -> str | None:
    """Where to send the browser: only the app's registered sign-off URL."""
    if app is None:
        if requested:
            raise PageError(
                "Sign-out refused", "A return address was given without saying which app."
            )
        return None
    if requested is None:
        return app.logout_url or None
    if requested != app.logout_url:
        raise PageError(
            "Sign-out refused",
            f"{app.name} asked to send you to an address it has not registered.",
        )
    return requested


def _hint_audience(parts: Browser, hint: str) -> str:
    """The client id an id_token we signed was issued to; its expiry does not matter."""
    refused = PageError("Sign-out refused", "The sign-out request carries an unknown token.")
    try:
        header = jws.extract_compact(hint.encode("ascii")).protected
        kid = header.get("kid")
        key = parts.keys.public_key(kid) if isinstance(kid, str) else None
        if header.get("alg") != ALGORITHM or key is None:
            raise refused
        claims = jwt.decode(hint, key, algorithms=[ALGORITHM]).claims
    except (JoseError, ValueError, UnicodeError) as exc:
        raise refused from exc
    audience = claims.get("aud")
    if claims.get("iss") != parts.keys.issuer or not isinstance(audience, str):
        raise refused
    return audience


def _end_online_grants(parts: Browser, session: BrowserSession) -> None:
    """Revoke grants with online_access (and not offline) made during this session."""
    table = authorization
    with reading(parts.engine) as conn:
        rows = conn.execute(
            select(table.c.authorization_id, table.c.scope).where(
                table.c.username == session.username,
                table.c.created_at >= session.created_at,
                table.c.revoked_at.is_(None),
            )
        ).all()
    for authorization_id, scope in rows:
        online = any(s.text == ONLINE for s in parse_scope(scope))
        if online and not lasts_beyond_session(scope):
            parts.revocations.revoke_authorization(authorization_id)
