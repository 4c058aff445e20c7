"""``POST /auth/token``: authorization codes and refresh tokens exchanged for tokens.

RFC 6749 §4.1.3-§4.1.4 (code), §6 (refresh), §5.1-§5.2 (responses, never cached) and
SMART App Launch 2.x (app-launch.html#obtain-access-token): the response carries the
granted ``scope``, the launch context and, with ``openid``, an id_token. A code is spent
on first use; presenting it again revokes what the first use was given (RFC 6749 §4.1.2).
``client_credentials`` (SMART Backend Services) is granted in ``client_credentials.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from isocenter.auth import audit, client_credentials, pkce
from isocenter.auth.browser import Browser, browser
from isocenter.auth.client_requests import read_form
from isocenter.auth.clients import App
from isocenter.auth.codes import CodeGrant, CodeRefused
from isocenter.auth.errors import (
    NO_STORE,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedGrantType,
)
from isocenter.auth.refresh import (
    RefreshRefused,
    ScopeNotGranted,
    lasts_beyond_session,
    wants_refresh,
)
from isocenter.auth.scopes import parse_scope
from isocenter.auth.tokens import issue_access_token, issue_id_token

TOKEN_PATH = "/auth/token"
AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"


async def token(request: Request) -> JSONResponse:
    """``POST /auth/token``; every answer, errors too, is ``no-store``."""
    parts = browser(request)
    form: dict[str, str] = {}
    try:
        form = await read_form(request)
        body = await run_in_threadpool(
            _token, parts, form, request.headers.get("authorization")
        )
    except OAuthError as error:
        await run_in_threadpool(_audit_refusal, parts, form, error)
        return error.response()
    return JSONResponse(body, headers=NO_STORE)


def _audit_refusal(parts: Browser, form: dict[str, str], error: OAuthError) -> None:
    # The client_id is as claimed, not authenticated: the admin sees who tried.
    audit.record(
        parts.engine, action="token", outcome=error.status, client_id=form.get("client_id")
    )


def _token(parts: Browser, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    app = parts.apps.authenticate(form, authorization)
    if grant_type == AUTHORIZATION_CODE:
        return _exchange_code(parts, app, form)
    if grant_type == REFRESH_TOKEN:
        return _refresh(parts, app, form)
    if grant_type == client_credentials.CLIENT_CREDENTIALS:
        return client_credentials.grant(parts, app, form)
    raise UnsupportedGrantType(f"grant_type {grant_type!r} is not supported here")


def _exchange_code(parts: Browser, app: App, form: dict[str, str]) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise InvalidRequest("code is required")
    try:
        grant = parts.codes.redeem(code)
    except CodeRefused as refused:
        if refused.reused is not None:
            # RFC 6749 §4.1.2: a second use means the code leaked; revoke what it gave.
            parts.revocations.revoke_authorization(refused.reused)
        raise InvalidGrant(str(refused)) from refused
    try:
        _check_binding(grant, app, form)
    except InvalidGrant:
        parts.revocations.revoke_authorization(grant.authorization_id)  # spent, unusable
        raise
    refresh = None
    if wants_refresh(grant.scope):
        refresh = parts.refresh_tokens.issue(
            authorization_id=grant.authorization_id,
            client_id=app.client_id,
            scope=grant.scope,
            expires_at=_refresh_expiry(parts, grant),
        )
    return _response(
        parts,
        app,
        grant.authorization_id,
        grant.username,
        grant.scope,
        grant.context,
        grant.nonce,
        refresh,
    )


def _check_binding(grant: CodeGrant, app: App, form: dict[str, str]) -> None:
    """The code's client, redirect URI and PKCE challenge (RFC 6749 §4.1.3, RFC 7636 §4.6)."""
    if grant.client_id != app.client_id:
        raise InvalidGrant("code was issued to another client")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the authorization request's")
    verifier = form.get("code_verifier")
    if grant.code_challenge is None:
        if verifier is not None:
            raise InvalidGrant("code_verifier sent, but no code_challenge was")
        return
    try:
        pkce.verify(verifier, grant.code_challenge)
    except pkce.PkceError as exc:
        raise InvalidGrant(str(exc)) from exc


def _refresh_expiry(parts: Browser, grant: CodeGrant) -> int:
    if lasts_beyond_session(grant.scope) or grant.expires_at is None:
        return parts.refresh_tokens.offline_expiry()
    return grant.expires_at  # online_access: the sign-in session's end


def _refresh(parts: Browser, app: App, form: dict[str, str]) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise InvalidRequest("refresh_token is required")
    try:
        refreshed = parts.refresh_tokens.rotate(
            presented, client_id=app.client_id, scope=form.get("scope")
        )
    except ScopeNotGranted as exc:
        raise InvalidScope(str(exc)) from exc
    except RefreshRefused as refused:
        if refused.reused is not None:
            # A spent refresh token came back: it was copied. Revoke the whole family.
            parts.revocations.revoke_authorization(refused.reused)
        raise InvalidGrant(str(refused)) from refused
    context = parts.codes.context(refreshed.authorization_id)
    # OpenID Connect Core §12.2: a refreshed id_token carries no nonce.
    return _response(
        parts,
        app,
        refreshed.authorization_id,
        refreshed.username,
        refreshed.scope,
        context,
        None,
        refreshed.token,
    )


def _response(
    parts: Browser,
    app: App,
    authorization_id: str,
    username: str | None,
    scope: str,
    context: dict[str, Any],
    nonce: str | None,
    refresh: str | None,
) -> dict[str, Any]:
    """The token response (RFC 6749 §5.1 plus SMART's launch context parameters)."""
    user = parts.users.get(username) if username else None
    if username is not None and (user is None or not user.enabled):
        raise InvalidGrant("the user who granted access can no longer sign in")
    fhir_user = user.fhir_user if user is not None else None
    lifetime = parts.settings.access_token_lifetime_seconds
    access, _jti, _expires_at = issue_access_token(
        parts.keys,
        client_id=app.client_id,
        username=username,
        scope=scope,
        patient=context.get("patient"),
        encounter=context.get("encounter"),
        fhir_user=fhir_user,
        authorization_id=authorization_id,
        lifetime_seconds=lifetime,
    )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
        **context,
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    audit.record(
        parts.engine,
        action="token",
        outcome=200,
        client_id=app.client_id,
        username=username,
        patient_id=context.get("patient"),
    )
    names = {s.text for s in parse_scope(scope)}
    if "openid" in names and username is not None:
        body["id_token"] = issue_id_token(
            parts.keys,
            client_id=app.client_id,
            username=username,
            fhir_user=fhir_user if names & {"fhirUser", "profile"} else None,
            nonce=nonce,
        )
    return body
