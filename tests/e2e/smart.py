"""The app's side of SMART App Launch over real HTTP: PKCE, the authorize URL, token calls.

Written from the specifications, not from Isocenter's code, the way an app developer
would: RFC 7636 §4.1-4.2 (verifier and S256 challenge), RFC 6749 §4.1 (code grant),
§6 (refresh), RFC 7662 (introspection), RFC 7009 (revocation).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.e2e.live import LiveServer, RegisteredApp

TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str


def new_pkce() -> Pkce:
    """A 43-128 character verifier of unreserved characters and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return Pkce(verifier=verifier, challenge=challenge)


def authorize_url(
    live: LiveServer,
    app: RegisteredApp,
    *,
    scope: str,
    state: str,
    pkce: Pkce,
    launch: str | None = None,
    nonce: str | None = None,
) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": scope,
        "state": state,
        "aud": live.fhir_base,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    if launch is not None:
        params["launch"] = launch
    if nonce is not None:
        params["nonce"] = nonce
    return live.url + "/auth/authorize?" + urlencode(params)


def _client_auth(app: RegisteredApp) -> dict[str, Any]:
    """Public apps name themselves in the body; confidential ones use HTTP Basic."""
    if app.secret is None:
        return {"client_id": app.client_id}
    return {}


def _basic(app: RegisteredApp) -> tuple[str, str] | None:
    return None if app.secret is None else (app.client_id, app.secret)


def token_request(live: LiveServer, app: RegisteredApp, form: dict[str, str]) -> httpx.Response:
    return httpx.post(
        live.url + "/auth/token",
        data={**form, **_client_auth(app)},
        auth=_basic(app),
        timeout=TIMEOUT_SECONDS,
    )


def exchange_code(
    live: LiveServer, app: RegisteredApp, code: str, pkce: Pkce
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": pkce.verifier,
    }
    return token_request(live, app, form)


def refresh(live: LiveServer, app: RegisteredApp, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(live, app, form)


def introspect(live: LiveServer, app: RegisteredApp, token: str) -> httpx.Response:
    return httpx.post(
        live.url + "/auth/introspect",
        data={"token": token, **_client_auth(app)},
        auth=_basic(app),
        timeout=TIMEOUT_SECONDS,
    )


def revoke(
    live: LiveServer, app: RegisteredApp, token: str, hint: str | None = None
) -> httpx.Response:
    form = {"token": token, **_client_auth(app)}
    if hint is not None:
        form["token_type_hint"] = hint
    return httpx.post(
        live.url + "/auth/revoke", data=form, auth=_basic(app), timeout=TIMEOUT_SECONDS
    )


def fhir_get(live: LiveServer, access_token: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{live.fhir_base}/{path}",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"},
        timeout=TIMEOUT_SECONDS,
    )
