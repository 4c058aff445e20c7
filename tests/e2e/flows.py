"""Whole launches as one call, for tests about what comes after the code (tokens, clients)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.e2e.browser import allow, sign_in, wait_for_callback
from tests.e2e.live import LiveServer, Login, RegisteredApp
from tests.e2e.servers import RedirectTarget
from tests.e2e.smart import authorize_url, exchange_code, new_pkce


def approve_in_browser(page: Any, target: RedirectTarget, url: str, login: Login) -> str:
    """Open an authorize URL, sign in, Allow everything; the redirect URI's query string."""
    page.goto(url)
    sign_in(page, login)
    allow(page)
    callback = wait_for_callback(page, target)
    assert "error" not in callback.params, callback.params
    return callback.url


def patient_launch(
    live: LiveServer,
    page: Any,
    target: RedirectTarget,
    *,
    app: RegisteredApp,
    scope: str,
    nonce: str | None = None,
    login: Login | None = None,
) -> dict[str, Any]:
    """A patient's standalone launch of ``app``: the token response as JSON."""
    pkce = new_pkce()
    state = secrets.token_urlsafe(12)
    url = authorize_url(live, app, scope=scope, state=state, pkce=pkce, nonce=nonce)
    callback = approve_in_browser(page, target, url, login or live.login("patient"))
    code = target.last_callback().params["code"]
    assert target.last_callback().params["state"] == state, callback
    response = exchange_code(live, app, code, pkce)
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token
