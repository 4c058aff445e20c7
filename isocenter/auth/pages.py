"""Rendering the authorization server's HTML pages, each with the headers that protect it.

Every page and every redirect from a page answers with ``no-store`` (a shared computer's
back button must not show a consent form or a code) and refuses to be framed, so no other
site can overlay the consent page and steal a click (clickjacking; RFC 6749 §10.13).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from isocenter.auth.sessions import CSRF_COOKIE, CSRF_FIELD, csrf_token, set_csrf_cookie

HERE = Path(__file__).parent
STYLESHEET_PATH = "/auth/static/pages.css"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src https: http: data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class Pages:
    """Renders templates and redirects for one server (``secure``: its base URL is https)."""

    def __init__(self, *, secure: bool) -> None:
        self.secure = secure

    def render(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """``template`` filled with ``context``, a CSRF token for its forms, safe headers."""
        token = csrf_token(request)
        html = _environment.get_template(template).render(
            csrf_field=CSRF_FIELD, csrf_token=token, stylesheet=STYLESHEET_PATH, **context
        )
        response = HTMLResponse(html, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != token:
            set_csrf_cookie(response, token, secure=self.secure)
        return protect(response)

    def error(
        self, request: Request, title: str, message: str, *, status: int = 400
    ) -> HTMLResponse:
        """An error page: what went wrong, said to the person in front of the browser."""
        return self.render(request, "error.html", status=status, title=title, message=message)

    def redirect(self, url: str) -> RedirectResponse:
        """303 See Other: the browser follows with GET whatever method it used."""
        return protect(RedirectResponse(url, status_code=303))


AnyResponse = TypeVar("AnyResponse", bound=Response)


def protect(response: AnyResponse) -> AnyResponse:
    """Add the page headers (no caching, no framing) to ``response``."""
    response.headers.update(PAGE_HEADERS)
    return response


async def stylesheet(request: Request) -> FileResponse:
    """``GET /auth/static/pages.css``."""
    return FileResponse(
        HERE / "static" / "pages.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def when(microseconds: int) -> str:
    """A moment as people read it on the pages: "14:55 UTC on 3 December 2026"."""
    moment = datetime.fromtimestamp(microseconds / 1_000_000, tz=UTC)
    return moment.strftime("%H:%M UTC on %-d %B %Y")
