"""``/auth/signin``: the sign-in page every browser flow starts from.

The authorize endpoint, the management page and the EHR send a browser without a session
here with ``next`` (a path on this server, never another site: no open redirect). Failed
attempts are slowed down and then refused for a while by ``Users.authenticate``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth import audit
from isocenter.auth.browser import Browser, browser
from isocenter.auth.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    CsrfRefused,
    check_csrf,
    new_csrf_token,
    set_csrf_cookie,
    set_session_cookie,
)
from isocenter.auth.users import SignInRefused

SIGNIN_PATH = "/auth/signin"
DEFAULT_NEXT = "/auth/manage"


async def signin(request: Request) -> Response:
    """``GET|POST /auth/signin``."""
    parts = browser(request)
    if request.method == "GET":
        next_path = local_path(request.query_params.get("next"))
        return await run_in_threadpool(_page, parts, request, next_path, "", "")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_sign_in, parts, request, fields)


def local_path(next_path: str | None) -> str:
    """``next`` if it is a path on this server; the management page otherwise."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in next_path or any(ord(c) < 32 for c in next_path):
        return DEFAULT_NEXT  # browsers read "/\evil.example" as another host
    return next_path


def _sign_in(parts: Browser, request: Request, fields: dict[str, str]) -> Response:
    next_path = local_path(fields.get("next"))
    username = fields.get("username", "").strip()
    try:
        check_csrf(request, fields.get(CSRF_FIELD))
        user = parts.users.authenticate(username, fields.get("password", ""))
    except CsrfRefused as error:
        return _page(parts, request, next_path, username, str(error), status=403)
    except SignInRefused as error:
        audit.record(parts.engine, action="login", outcome=401, username=username or None)
        return _page(parts, request, next_path, username, str(error))
    audit.record(parts.engine, action="login", outcome=200, username=user.username)
    parts.sessions.end(request.cookies.get(SESSION_COOKIE))  # one sign-in per browser
    token, session = parts.sessions.start(user.username)
    response = parts.pages.redirect(next_path)
    set_session_cookie(response, token, session, secure=parts.secure)
    # A new CSRF token with the new session: one planted before sign-in is worth nothing.
    set_csrf_cookie(response, new_csrf_token(), secure=parts.secure)
    return response


def _page(
    parts: Browser,
    request: Request,
    next_path: str,
    username: str,
    error: str,
    *,
    status: int = 200,
) -> Response:
    return parts.pages.render(
        request,
        "signin.html",
        status=status,
        title="Sign in",
        app_name=_app_name(parts, next_path),
        next=next_path,
        username=username,
        error=error,
    )


def _app_name(parts: Browser, next_path: str) -> str:
    """The app's name when signing in for an authorization request, to say who asks."""
    if not next_path.startswith("/auth/authorize?"):
        return ""
    client_ids = parse_qs(urlsplit(next_path).query).get("client_id", [])
    app = parts.apps.get(client_ids[0]) if client_ids else None
    return app.name if app is not None else ""
