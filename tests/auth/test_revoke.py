"""Token revocation, RFC 7009: always 200; a refresh token takes its grant with it."""

from __future__ import annotations

import base64

from sqlalchemy import select

from isocenter.auth.audit import recent
from isocenter.auth.clients import App
from isocenter.auth.server import AuthServer
from isocenter.store.schema import authorization
from tests.auth import grants
from tests.auth.conftest import Http


def _public(server: AuthServer) -> App:
    app, _ = server.apps.register(
        name="Public app",
        client_type="public",
        redirect_uris=["https://app.example.org/cb"],
        scopes=grants.SCOPE,
    )
    return app


def _revoke(http: Http, app: App, token: str, **form: str):
    return http.post("/auth/revoke", data={"token": token, "client_id": app.client_id, **form})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_revoked_access_token_is_refused_by_the_fhir_routes_at_once(
    http: Http, server: AuthServer
) -> None:
    app = _public(server)
    token = grants.access(server.keys, None, app.client_id)
    assert http.get("/fhir/Patient/p1", headers=_bearer(token)).status_code != 401

    response = _revoke(http, app, token)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert http.get("/fhir/Patient/p1", headers=_bearer(token)).status_code == 401


def test_revoking_a_refresh_token_ends_its_grant_and_its_access_tokens(
    http: Http, server: AuthServer
) -> None:
    app = _public(server)
    grant = grants.grant(server.engine, app.client_id)
    refresh = grants.refresh(server.engine, grant, app.client_id)
    token = grants.access(server.keys, grant, app.client_id)

    assert _revoke(http, app, refresh, token_type_hint="refresh_token").status_code == 200

    assert http.get("/fhir/Patient/p1", headers=_bearer(token)).status_code == 401
    with server.engine.connect() as conn:
        assert conn.scalar(select(authorization.c.revoked_at)) is not None


def test_unknown_tokens_are_answered_200(http: Http, server: AuthServer) -> None:
    app = _public(server)

    assert _revoke(http, app, "no-such-token").status_code == 200
    assert _revoke(http, app, "a.b.c").status_code == 200


def test_another_apps_token_is_left_alone(http: Http, server: AuthServer) -> None:
    mine, theirs = _public(server), _public(server)
    token = grants.access(server.keys, None, theirs.client_id)

    assert _revoke(http, mine, token).status_code == 200

    assert http.get("/fhir/Patient/p1", headers=_bearer(token)).status_code != 401


def test_the_app_must_authenticate(http: Http, server: AuthServer) -> None:
    app, _ = server.apps.register(
        name="Confidential",
        client_type="confidential-symmetric",
        redirect_uris=["https://app.example.org/cb"],
        scopes=grants.SCOPE,
    )
    raw = base64.b64encode(f"{app.client_id}:wrong".encode()).decode()

    response = http.post(
        "/auth/revoke", data={"token": "x"}, headers={"Authorization": f"Basic {raw}"}
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_revocation_is_audited(http: Http, server: AuthServer) -> None:
    app = _public(server)
    token = grants.access(server.keys, None, app.client_id)

    _revoke(http, app, token)

    [event] = recent(server.engine, actions=["revoke"])
    assert (event.client_id, event.outcome) == (app.client_id, 200)
