"""Page plumbing of the admin pages and the EHR: templates, sign-in and role checks.

Pages extend the sign-in pages' layout (``isocenter/auth/templates/base.html``) and carry
their headers (no caching, no framing: ``auth.pages.protect``). Sign-in is the site's one
session (``auth.sessions``): a browser without one is sent to ``/auth/signin`` and comes
back; a signed-in user of the wrong role gets a 403 page that offers to sign out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from isocenter.auth import pages as auth_pages
from isocenter.auth.sessions import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    CsrfRefused,
    Sessions,
    check_csrf,
    clear_session_cookie,
    csrf_token,
    set_csrf_cookie,
)
from isocenter.auth.users import User, Users

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET_PATH = "/admin/static/admin.css"
SIGN_IN_PATH = "/auth/signin"
ROLE_NAMES = {"admin": "site admin", "clinician": "clinician", "patient": "patient"}
# A page's work once the gate let the request in: (request, posted form or None).
PageHandler = Callable[[Request, FormData | None], Response]


class Renderer:
    """Templates of the given folders, then this package's, then the sign-in pages'."""

    def __init__(self, *folders: Path, secure: bool) -> None:
        search = [*folders, TEMPLATES, auth_pages.HERE / "templates"]
        loader = ChoiceLoader([FileSystemLoader(folder) for folder in search])
        self.environment = Environment(
            loader=loader,
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.secure = secure

    def render(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        token = csrf_token(request)
        user: User | None = getattr(request.state, "user", None)
        html = self.environment.get_template(template).render(
            csrf_field=CSRF_FIELD,
            csrf_token=token,
            stylesheet=STYLESHEET_PATH,
            signed_in_as=(user.display_name or user.username) if user else None,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != token:
            set_csrf_cookie(response, token, secure=self.secure)
        return auth_pages.protect(response)

    def redirect(self, url: str) -> RedirectResponse:
        """303 See Other after a form post (the browser follows with GET)."""
        return auth_pages.protect(RedirectResponse(url, status_code=303))


class Gate:
    """Who may see a set of pages: a live session of an enabled user of ``role``."""

    def __init__(
        self, sessions: Sessions, users: Users, renderer: Renderer, *, role: str, home: str
    ) -> None:
        self.sessions = sessions
        self.users = users
        self.renderer = renderer
        self.role = role
        self.home = home

    def user(self, request: Request) -> User | None:
        session = self.sessions.current(request)
        if session is None:
            return None
        user = self.users.get(session.username)
        return user if user is not None and user.enabled else None

    async def serve(self, request: Request, handler: PageHandler) -> Response:
        """Run ``handler`` (in a thread: it reads the database) for a signed-in user of
        the role; a POST must carry the browser's CSRF token."""
        user = await run_in_threadpool(self.user, request)
        if user is None:
            return self.renderer.redirect(_sign_in_url(request))
        request.state.user = user
        if user.role != self.role:
            return self.refuse(request, user)
        form: FormData | None = None
        if request.method == "POST":
            form = await request.form()
            try:
                check_csrf(request, form.get(CSRF_FIELD))
            except CsrfRefused as exc:
                return self.message(request, "The form has expired", str(exc), 403)
        return await run_in_threadpool(handler, request, form)

    def refuse(self, request: Request, user: User) -> HTMLResponse:
        role = ROLE_NAMES.get(self.role, self.role)
        message = f"You are signed in as {user.username}: these pages are for {role}s."
        return self.message(request, "Not for this account", message, 403)

    def message(self, request: Request, title: str, message: str, status: int) -> HTMLResponse:
        return self.renderer.render(
            request,
            "admin/message.html",
            status=status,
            title=title,
            message=message,
            signout=f"{self.home}/signout",
        )

    async def sign_out(self, request: Request) -> Response:
        """POST .../signout: end the session (CSRF-checked) and go to the sign-in page."""
        form = await request.form()
        try:
            check_csrf(request, form.get(CSRF_FIELD))
        except CsrfRefused as exc:
            return self.message(request, "The form has expired", str(exc), 403)
        await run_in_threadpool(self.sessions.end, request.cookies.get(SESSION_COOKIE))
        response = self.renderer.redirect(f"{SIGN_IN_PATH}?{urlencode({'next': self.home})}")
        clear_session_cookie(response, secure=self.renderer.secure)
        return response


def _sign_in_url(request: Request) -> str:
    target = request.url.path
    if request.url.query and request.method == "GET":
        target += "?" + request.url.query
    return f"{SIGN_IN_PATH}?{urlencode({'next': target})}"
