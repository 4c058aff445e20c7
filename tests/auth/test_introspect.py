"""Token introspection, RFC 7662: the calling app authenticates; active answers carry the
grant; anything else is exactly {"active": false}."""

from __future__ import annotations

import base64
import time

import pytest
from sqlalchemy import update

from isocenter.auth.clients import App
from isocenter.auth.server import AuthServer
from isocenter.store.schema import refresh_token
from tests.auth import grants
from tests.auth.conftest import BASE_URL, FHIR_BASE, Http

REDIRECT = "https://app.example.org/callback"


def _app(server: AuthServer, client_type: str) -> tuple[App, str | None]:
    return server.apps.register(
        name=f"{client_type} app",
        client_type=client_type,
        redirect_uris=[REDIRECT],
        scopes=grants.SCOPE,
    )


def _basic(app: App, secret: str | None) -> dict[str, str]:
    raw = f"{app.client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
def resource_server(server: AuthServer) -> tuple[App, str | None]:
    return _app(server, "confidential-symmetric")


def _introspect(http: Http, caller: tuple[App, str | None], token: str, **form: str):
    app, secret = caller
    return http.post(
        "/auth/introspect", data={"token": token, **form}, headers=_basic(app, secret)
    )


def test_an_active_access_token_is_described(
    http: Http, server: AuthServer, resource_server: tuple[App, str | None]
) -> None:
    client, _ = _app(server, "public")
    token = grants.access(server.keys, None, client.client_id)

    response = _introspect(http, resource_server, token)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.json()
    assert answer["active"] is True
    assert answer["scope"] == grants.SCOPE
    assert answer["client_id"] == client.client_id
    assert answer["sub"] == "pat"
    assert answer["iss"] == BASE_URL
    assert answer["patient"] == "p1"
    assert answer["fhirUser"] == FHIR_BASE + "/Patient/p1"
    assert answer["exp"] > time.time()
    assert answer["token_type"] == "Bearer"


def test_an_active_refresh_token_is_described(
    http: Http, server: AuthServer, resource_server: tuple[App, str | None]
) -> None:
    client, _ = _app(server, "public")
    grant = grants.grant(server.engine, client.client_id)
    token = grants.refresh(server.engine, grant, client.client_id)

    answer = _introspect(http, resource_server, token, token_type_hint="refresh_token").json()

    assert answer["active"] is True
    assert answer["token_type"] == "refresh_token"
    assert answer["client_id"] == client.client_id
    assert answer["sub"] == "pat" and answer["patient"] == "p1"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_unknown_tokens_are_exactly_inactive(
    http: Http, resource_server: tuple[App, str | None], token: str
) -> None:
    response = _introspect(http, resource_server, token)

    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_a_revoked_access_token_is_exactly_inactive(
    http: Http, server: AuthServer, resource_server: tuple[App, str | None]
) -> None:
    grant = grants.grant(server.engine, "app-x")
    token = grants.access(server.keys, grant, "app-x")

    server.revocations.revoke_authorization(grant)

    assert _introspect(http, resource_server, token).json() == {"active": False}


@pytest.mark.parametrize(
    "values",
    [
        {"used_at": 1},
        {"revoked_at": 1},
        {"expires_at": 1},
    ],
)
def test_spent_revoked_or_expired_refresh_tokens_are_exactly_inactive(
    http: Http,
    server: AuthServer,
    resource_server: tuple[App, str | None],
    values: dict[str, int],
) -> None:
    grant = grants.grant(server.engine, "app-x")
    token = grants.refresh(server.engine, grant, "app-x")
    with server.engine.begin() as conn:
        conn.execute(update(refresh_token).values(**values))

    assert _introspect(http, resource_server, token).json() == {"active": False}


def test_a_refresh_token_of_a_revoked_grant_is_inactive(
    http: Http, server: AuthServer, resource_server: tuple[App, str | None]
) -> None:
    grant = grants.grant(server.engine, "app-x")
    token = grants.refresh(server.engine, grant, "app-x")

    server.revocations.revoke_authorization(grant)

    assert _introspect(http, resource_server, token).json() == {"active": False}


def test_a_public_app_learns_only_about_its_own_tokens(http: Http, server: AuthServer) -> None:
    mine, _ = _app(server, "public")
    theirs, _ = _app(server, "public")
    own = grants.access(server.keys, None, mine.client_id)
    other = grants.access(server.keys, None, theirs.client_id)

    def ask(token: str) -> dict[str, object]:
        form = {"token": token, "client_id": mine.client_id}
        return http.post("/auth/introspect", data=form).json()

    assert ask(own)["active"] is True
    assert ask(other) == {"active": False}


def test_the_caller_must_authenticate(http: Http, server: AuthServer) -> None:
    app, _ = _app(server, "confidential-symmetric")
    token = grants.access(server.keys, None, app.client_id)

    wrong = _introspect(http, (app, "wrong-secret"), token)
    unknown = http.post("/auth/introspect", data={"token": token, "client_id": "nobody"})

    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert unknown.status_code == 401


def test_a_missing_token_or_a_json_body_is_an_invalid_request(
    http: Http, resource_server: tuple[App, str | None]
) -> None:
    app, secret = resource_server

    missing = http.post("/auth/introspect", data={}, headers=_basic(app, secret))
    as_json = http.post("/auth/introspect", json={"token": "x"}, headers=_basic(app, secret))
    repeated = http.post(
        "/auth/introspect",
        content="token=a&token=b",
        headers={**_basic(app, secret), "Content-Type": "application/x-www-form-urlencoded"},
    )

    for response in (missing, as_json, repeated):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
