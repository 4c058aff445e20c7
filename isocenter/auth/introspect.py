"""Token introspection, RFC 7662: is this token active, and what does it grant?

The calling app authenticates (§2.1). An access token is active while its signature,
issuer, audience and expiry hold and it is not revoked; a refresh token while it is
unspent, unexpired and its grant stands. Anything else, including another app's token
asked about by a public app, answers exactly ``{"active": false}`` (§2.2), so that the
answer tells nothing about tokens the caller may not see.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from isocenter.auth.client_requests import authenticated_app, read_form
from isocenter.auth.clients import App
from isocenter.auth.database import reading
from isocenter.auth.errors import NO_STORE, InvalidRequest, OAuthError
from isocenter.auth.server import AuthServer, auth_server
from isocenter.auth.tokens import InvalidToken, decode
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import authorization, refresh_token

INACTIVE: dict[str, Any] = {"active": False}
ACCESS_CLAIMS = (
    "scope",
    "client_id",
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "patient",
    "encounter",
    "fhirUser",
)


async def introspect_endpoint(request: Request) -> JSONResponse:
    server = auth_server(request)
    try:
        form = await read_form(request)
        app = await authenticated_app(server, request, form)
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        answer = await run_in_threadpool(
            introspect, server, app, token, form.get("token_type_hint")
        )
    except OAuthError as error:
        return error.response()
    return JSONResponse(answer, headers=NO_STORE)


def introspect(
    server: AuthServer, app: App, token: str, hint: str | None = None
) -> dict[str, Any]:
    """The RFC 7662 answer for ``token`` asked about by ``app``."""
    lookups = [_access_token, _refresh_token]
    if hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        answer = lookup(server, token)
        if answer is not None:
            return answer if _may_see(app, answer) else dict(INACTIVE)
    return dict(INACTIVE)


def _may_see(app: App, answer: dict[str, Any]) -> bool:
    # A confidential app may be a resource server checking others' tokens; a public app,
    # whose client id is no secret, learns only about its own.
    return not app.is_public or answer.get("client_id") == app.client_id


def _access_token(server: AuthServer, token: str) -> dict[str, Any] | None:
    if token.count(".") != 2:
        return None
    try:
        claims = decode(server.keys, token, audience=server.keys.audience)
    except InvalidToken:
        return None
    jti = claims.get("jti")
    if not isinstance(jti, str) or server.revocations.is_revoked(jti):
        return None
    answer = {"active": True, "token_type": "Bearer"}
    answer.update({name: claims[name] for name in ACCESS_CLAIMS if name in claims})
    if claims.get("sub") != claims.get("client_id"):
        answer["username"] = claims["sub"]
    return answer


def _refresh_token(server: AuthServer, token: str) -> dict[str, Any] | None:
    key = hashlib.sha256(token.encode()).hexdigest()
    with reading(server.engine) as conn:
        row = conn.execute(
            select(
                refresh_token,
                authorization.c.username,
                authorization.c.patient_id,
                authorization.c.encounter_id,
                authorization.c.revoked_at.label("grant_revoked_at"),
            )
            .join(
                authorization,
                authorization.c.authorization_id == refresh_token.c.authorization_id,
            )
            .where(refresh_token.c.token_hash == key)
        ).first()
    if row is None or not _live(row):
        return None
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "refresh_token",
        "scope": row.scope,
        "client_id": row.client_id,
        "iss": server.keys.issuer,
        "exp": row.expires_at // 1_000_000,
        "iat": row.created_at // 1_000_000,
    }
    extra = {
        "sub": row.username,
        "username": row.username,
        "patient": row.patient_id,
        "encounter": row.encounter_id,
    }
    answer.update({name: value for name, value in extra.items() if value is not None})
    return answer


def _live(row: Any) -> bool:
    return (
        row.used_at is None
        and row.revoked_at is None
        and row.grant_revoked_at is None
        and row.expires_at > now_microseconds()
    )
