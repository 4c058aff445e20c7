"""The authorization request: its parameters checked in the order the specs give.

RFC 6749 §4.1.2.1: while the client or the redirect URI is in doubt, the error is shown to
the user and the browser is never sent anywhere (an open redirector otherwise); once both
are known good, every other error goes back to the redirect URI with ``error``,
``error_description`` and ``state``. SMART App Launch 2.x (app-launch.html#obtain-
authorization-code) adds ``aud`` (must name this FHIR server), PKCE S256 for public
clients, and ``launch`` for EHR launches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from isocenter.auth import pkce
from isocenter.auth.clients import App
from isocenter.auth.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedResponseType,
)
from isocenter.auth.scopes import ScopeError, grantable

PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
    "launch",
    "nonce",
)


class PageError(Exception):
    """An error shown on a page, never redirected: the client or redirect URI is bad."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class RedirectError(Exception):
    """An OAuth error to send back to the app's redirect URI."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.description)
        self.error = error
        self.url = redirect_to(
            redirect_uri,
            {"error": error.error, "error_description": error.description, "state": state},
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """A request whose client, redirect URI, aud, PKCE and scope have passed."""

    app: App
    redirect_uri: str
    requested_scope: str
    scope: str  # what the app may be granted of what it asked (before the user's say)
    state: str | None
    code_challenge: str | None
    nonce: str | None
    launch: str | None
    parameters: tuple[tuple[str, str], ...]  # as sent, to carry through the pages

    def fail(self, error: OAuthError) -> RedirectError:
        return RedirectError(error, self.redirect_uri, self.state)


def parse(
    pairs: Sequence[tuple[str, str]],
    find_app: Callable[[str], App | None],
    *,
    fhir_base_url: str,
) -> AuthorizationRequest:
    """Check an authorization request; raises ``PageError`` or ``RedirectError``."""
    given = _single_values(pairs)
    app = _client(given.get("client_id"), find_app)
    redirect_uri = _redirect_uri(given.get("redirect_uri"), app)
    state = given.get("state")
    try:
        if any(len(values) > 1 for values in _multiples(pairs).values()):
            raise InvalidRequest("a parameter was sent more than once (RFC 6749 §3.1)")
        _response_type(given.get("response_type"))
        _audience(given.get("aud"), fhir_base_url)
        challenge = _challenge(given, app)
        requested, scope = _scope(given.get("scope"), app)
    except OAuthError as error:
        raise RedirectError(error, redirect_uri, state) from error
    return AuthorizationRequest(
        app=app,
        redirect_uri=redirect_uri,
        requested_scope=requested,
        scope=scope,
        state=state,
        code_challenge=challenge,
        nonce=given.get("nonce"),
        launch=given.get("launch") or None,
        parameters=tuple((k, v) for k, v in pairs if k in PARAMETERS),
    )


def redirect_to(redirect_uri: str, parameters: dict[str, str | None]) -> str:
    """``redirect_uri`` with ``parameters`` added to its query (RFC 6749 §4.1.2)."""
    scheme, netloc, path, query, _fragment = urlsplit(redirect_uri)
    added = urlencode({k: v for k, v in parameters.items() if v is not None})
    query = f"{query}&{added}" if query else added
    return urlunsplit((scheme, netloc, path, query, ""))


def _single_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {key: value for key, value in reversed(pairs) if key in PARAMETERS}


def _multiples(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in PARAMETERS:
            seen.setdefault(key, []).append(value)
    return seen


def _client(client_id: str | None, find_app: Callable[[str], App | None]) -> App:
    if not client_id:
        raise PageError("Unknown app", "The request does not say which app is asking.")
    app = find_app(client_id)
    if app is None:
        raise PageError("Unknown app", "The app that sent you here is not registered.")
    if not app.enabled:
        raise PageError("App disabled", f"{app.name} has been disabled by the site admin.")
    return app


def _redirect_uri(redirect_uri: str | None, app: App) -> str:
    # Exact string comparison (RFC 6749 §3.1.2.3; OAuth 2.0 Security BCP §4.1.3).
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        raise PageError(
            "Wrong return address",
            f"{app.name} asked to send you back to an address it has not registered.",
        )
    return redirect_uri


def _response_type(response_type: str | None) -> None:
    if not response_type:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")


def _audience(aud: str | None, fhir_base_url: str) -> None:
    # SMART: aud names the FHIR server the app means, so a token is never handed to an
    # app that was pointed at a look-alike server.
    if not aud:
        raise InvalidRequest(f"aud is required and must be {fhir_base_url}")
    if aud.rstrip("/") != fhir_base_url.rstrip("/"):
        raise InvalidRequest(f"aud must be {fhir_base_url}")


def _challenge(given: dict[str, str], app: App) -> str | None:
    challenge = given.get("code_challenge")
    if not app.is_public and challenge is None:
        return None  # confidential clients may skip PKCE; when they send it, it binds
    try:
        return pkce.check_challenge(challenge, given.get("code_challenge_method"))
    except pkce.PkceError as exc:
        raise InvalidRequest(str(exc)) from exc


def _scope(scope: str | None, app: App) -> tuple[str, str]:
    if not scope or not scope.strip():
        raise InvalidScope("scope is required")
    try:
        granted = grantable(scope, app.scopes)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from exc
    if not granted:
        raise InvalidScope("none of the requested scopes may be granted to this app")
    return scope, granted
