"""The guard on /fhir: RFC 6750 §3 challenges, public discovery, Access for valid tokens."""

from __future__ import annotations

import base64
import json
import time

import anyio
import pytest
from joserfc import jwt

from isocenter.access import FULL_ACCESS
from isocenter.app import create_app
from isocenter.auth.guard import GuardMiddleware, bearer_token
from isocenter.auth.server import AuthServer
from isocenter.auth.tokens import issue_access_token
from tests.auth.conftest import BASE_URL, FHIR_BASE, Http

REALM = f'Bearer realm="{FHIR_BASE}"'


def _token(server: AuthServer, scope: str = "user/*.read", **overrides: object) -> str:
    arguments: dict[str, object] = {
        "client_id": "app-1",
        "username": "dr",
        "scope": scope,
        "patient": None,
        "encounter": None,
        "fhir_user": "Practitioner/pr1",
        "authorization_id": None,
    }
    token, _, _ = issue_access_token(server.keys, **{**arguments, **overrides})  # type: ignore[arg-type]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_login_outcome(response_json: dict[str, object]) -> None:
    assert response_json["resourceType"] == "OperationOutcome"
    [issue] = response_json["issue"]  # type: ignore[misc]
    assert issue["code"] == "login"


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Patient",
        "/fhir/Patient/p1",
        "/fhir/Observation?code=x",
        "/fhir/_history",
        "/fhir",
    ],
)
def test_no_token_is_401_with_a_bearer_challenge(http: Http, path: str) -> None:
    response = http.get(path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM
    assert response.headers["Content-Type"] == "application/fhir+json"
    _assert_login_outcome(response.json())


def test_a_write_without_a_token_is_401(http: Http) -> None:
    response = http.post("/fhir/Patient", json={"resourceType": "Patient"})

    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Basic YTpi", "Bearer", "Bearer   ", "token abc"])
def test_an_authorization_header_without_a_bearer_token_is_like_none(
    http: Http, header: str
) -> None:
    response = http.get("/fhir/Patient", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM


def test_a_bad_token_is_401_invalid_token(http: Http) -> None:
    response = http.get("/fhir/Patient", headers=_bearer("not.a.token"))

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(REALM + ', error="invalid_token"')
    _assert_login_outcome(response.json())


def test_an_unsigned_token_is_401(http: Http, server: AuthServer) -> None:
    payload = _token(server).split(".")[1]
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")

    response = http.get("/fhir/Patient", headers=_bearer(f"{header.decode()}.{payload}."))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_is_401(http: Http, server: AuthServer) -> None:
    current = server.keys.current()
    then = int(time.time()) - 7200
    claims = {
        "iss": BASE_URL,
        "aud": FHIR_BASE,
        "sub": "dr",
        "iat": then,
        "exp": then + 3600,
        "jti": "old",
        "client_id": "app-1",
        "scope": "user/*.read",
    }
    expired = jwt.encode({"alg": "RS256", "kid": current.kid}, claims, current.key)

    response = http.get("/fhir/Patient", headers=_bearer(expired))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_revoked_token_is_401_at_once(http: Http, server: AuthServer) -> None:
    token, jti, expires_at = issue_access_token(
        server.keys,
        client_id="app-1",
        username="dr",
        scope="user/*.read",
        patient=None,
        encounter=None,
        fhir_user="Practitioner/pr1",
        authorization_id=None,
    )
    assert http.get("/fhir/Patient", headers=_bearer(token)).status_code != 401

    server.revocations.revoke(jti, expires_at)

    assert http.get("/fhir/Patient", headers=_bearer(token)).status_code == 401


def test_a_valid_token_passes_to_the_fhir_routes(http: Http, server: AuthServer) -> None:
    response = http.get("/fhir/Patient", headers=_bearer(_token(server)))

    assert response.status_code == 200
    assert response.json()["resourceType"] == "Bundle"


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/metadata",
        "/fhir/.well-known/smart-configuration",
        "/.well-known/openid-configuration",
        "/auth/jwks",
    ],
)
def test_metadata_and_discovery_stay_public(http: Http, path: str) -> None:
    response = http.get(path)

    assert response.status_code == 200


def test_a_cors_preflight_is_answered_without_a_token(http: Http) -> None:
    response = http.request(
        "OPTIONS",
        "/fhir/Patient",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 200
    assert "access-control-allow-origin" in response.headers


def test_a_401_carries_cors_headers_for_browser_apps(http: Http) -> None:
    response = http.get("/fhir/Patient", headers={"Origin": "https://app.example.org"})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_guard_puts_the_tokens_access_on_the_request_state(server: AuthServer) -> None:
    seen: dict[str, object] = {}

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        seen["access"] = scope["state"]["access"]

    guard = GuardMiddleware(inner, keys=server.keys, revocations=server.revocations, realm="r")
    token = _token(server, scope="patient/Observation.rs", patient="p1", fhir_user=None)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/fhir/Observation",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }

    anyio.run(guard, scope, None, None)

    access = seen["access"]
    assert access.patient == "p1"  # type: ignore[attr-defined]
    assert access.allows("Observation", "s")  # type: ignore[attr-defined]


def test_an_unguarded_app_says_full_access_explicitly(engine, auth_settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(auth_settings, engine=engine, guard=False)
    seen: dict[str, object] = {}

    async def probe(scope, receive, send):  # type: ignore[no-untyped-def]
        seen["access"] = scope["state"]["access"]

    unguarded = app.user_middleware[-1].cls(probe)  # type: ignore[call-arg]

    anyio.run(unguarded, {"type": "http", "path": "/fhir/Patient"}, None, None)

    assert seen["access"] is FULL_ACCESS


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ([(b"authorization", b"Bearer abc")], "abc"),
        ([(b"authorization", b"bearer  abc ")], "abc"),
        ([(b"authorization", b"Basic abc")], None),
        ([], None),
    ],
)
def test_bearer_token_reads_the_authorization_header(
    headers: list[tuple[bytes, bytes]], token: str | None
) -> None:
    assert bearer_token({"headers": headers}) == token
