"""Token revocation, RFC 7009: an app gives up an access or refresh token.

The app authenticates (§2.1). Revoking a refresh token ends its whole grant, the access
tokens issued under it included (§2.1 SHOULD); revoking an access token ends that token,
at once for this process and within a second for the others. The answer is 200 whether or
not the token was known, valid or the app's own (§2.2): an unknown or foreign token is
left alone, and the answer says nothing about it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth import audit
from isocenter.auth.client_requests import authenticated_app, read_form
from isocenter.auth.clients import App
from isocenter.auth.database import reading
from isocenter.auth.errors import NO_STORE, InvalidRequest, OAuthError
from isocenter.auth.server import AuthServer, auth_server
from isocenter.auth.tokens import InvalidToken, decode
from isocenter.store.schema import refresh_token


async def revoke_endpoint(request: Request) -> Response:
    server = auth_server(request)
    try:
        form = await read_form(request)
        app = await authenticated_app(server, request, form)
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        await run_in_threadpool(revoke, server, app, token)
    except OAuthError as error:
        return error.response()
    return Response(status_code=200, headers=NO_STORE)


def revoke(server: AuthServer, app: App, token: str) -> bool:
    """Revoke ``token`` if it is ``app``'s; True when something was revoked."""
    revoked = _revoke_access_token(server, app, token) or _revoke_refresh_token(
        server, app, token
    )
    if revoked:
        audit.record(server.engine, action="revoke", outcome=200, client_id=app.client_id)
    return revoked


def _revoke_access_token(server: AuthServer, app: App, token: str) -> bool:
    if token.count(".") != 2:
        return False
    try:
        claims = decode(server.keys, token, audience=server.keys.audience)
    except InvalidToken:
        return False
    if claims.get("client_id") != app.client_id or not isinstance(claims.get("jti"), str):
        return False
    server.revocations.revoke(claims["jti"], int(claims["exp"]) * 1_000_000)
    return True


def _revoke_refresh_token(server: AuthServer, app: App, token: str) -> bool:
    key = hashlib.sha256(token.encode()).hexdigest()
    with reading(server.engine) as conn:
        row = conn.execute(
            select(refresh_token.c.authorization_id, refresh_token.c.client_id).where(
                refresh_token.c.token_hash == key
            )
        ).first()
    if row is None or row.client_id != app.client_id:
        return False
    server.revocations.revoke_authorization(row.authorization_id)
    return True
