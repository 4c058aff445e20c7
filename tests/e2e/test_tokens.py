"""After the code, on SQLite and PostgreSQL over real HTTP: id_token, refresh, introspection,
revocation.

The id_token is checked the way a relying party does (OpenID Connect Core §3.1.3.7), with
joserfc against the keys at the discovery document's ``jwks_uri``, not with Isocenter's
code. Refresh follows RFC 6749 §6 with rotation; introspection RFC 7662 §2.2; revocation
RFC 7009 §2.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.flows import patient_launch
from tests.e2e.live import LiveServer
from tests.e2e.servers import RedirectTarget
from tests.e2e.smart import fhir_get, introspect, refresh, revoke

OFFLINE_SCOPE = "launch/patient openid fhirUser offline_access patient/Patient.rs"


def _discovery(live: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(
        live.url + "/.well-known/openid-configuration", timeout=10
    ).json()
    return document


def _published_keys(live: LiveServer) -> KeySet:
    jwks = httpx.get(_discovery(live)["jwks_uri"], timeout=10)
    assert jwks.status_code == 200
    return KeySet.import_key_set(jwks.json())


def test_id_token_verifies_against_the_published_keys(
    any_live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    live, app = any_live, any_live.public_app
    patient = live.login("patient")
    token = patient_launch(
        live, page, redirect_target, app=app, scope=OFFLINE_SCOPE, nonce="n-0S6_WzA2Mj"
    )

    decoded = jwt.decode(token["id_token"], _published_keys(live), algorithms=["RS256"])
    claims = jwt.JWTClaimsRegistry(
        now=int(time.time()),
        iss={"essential": True, "value": _discovery(live)["issuer"]},
        aud={"essential": True, "value": app.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": "n-0S6_WzA2Mj"},
    )
    claims.validate(decoded.claims)
    assert decoded.header["alg"] == "RS256"
    fhir_user = decoded.claims["fhirUser"]
    assert fhir_user == f"{live.fhir_base}/Patient/{patient.linked_id}"
    # fhirUser is a resource the token itself can read.
    relative = fhir_user.removeprefix(live.fhir_base + "/")
    assert fhir_get(live, token["access_token"], relative).status_code == 200
    # The access token is a JWT signed by the same published keys, for the FHIR base.
    access = jwt.decode(token["access_token"], _published_keys(live), algorithms=["RS256"])
    assert access.claims["aud"] == live.fhir_base
    assert access.claims["jti"]


def test_refresh_rotates_and_a_spent_refresh_token_ends_the_family(
    any_live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    live, app = any_live, any_live.public_app
    first = patient_launch(live, page, redirect_target, app=app, scope=OFFLINE_SCOPE)
    assert first["refresh_token"]

    renewed = refresh(live, app, first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert renewed.headers["cache-control"] == "no-store"
    assert renewed.headers["pragma"] == "no-cache"
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] > 0
    assert set(second["scope"].split()) <= set(first["scope"].split())
    assert fhir_get(live, second["access_token"], "Patient").status_code == 200

    replayed = refresh(live, app, first["refresh_token"])
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    # Reuse of a spent token means it leaked: its whole family is revoked, the newest too.
    newest = refresh(live, app, second["refresh_token"])
    assert newest.status_code == 400
    assert newest.json()["error"] == "invalid_grant"


def test_introspection_and_revocation_of_a_confidential_apps_tokens(
    any_live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    live, app = any_live, any_live.confidential_app
    patient = live.login("patient")
    token = patient_launch(live, page, redirect_target, app=app, scope=OFFLINE_SCOPE)

    active = introspect(live, app, token["access_token"])
    assert active.status_code == 200
    described = active.json()
    assert described["active"] is True
    assert described["client_id"] == app.client_id
    assert described["patient"] == patient.linked_id
    assert described["scope"] == token["scope"]
    assert described["fhirUser"].endswith(f"Patient/{patient.linked_id}")
    assert described["exp"] > time.time()
    assert {"sub", "iss"} <= described.keys()

    assert revoke(live, app, token["access_token"]).status_code == 200
    # Revoked access tokens answer 401 at once, and introspect as exactly inactive.
    refused = fhir_get(live, token["access_token"], f"Patient/{patient.linked_id}")
    assert refused.status_code == 401
    assert "Bearer" in refused.headers["www-authenticate"]
    assert introspect(live, app, token["access_token"]).json() == {"active": False}

    assert revoke(live, app, token["refresh_token"], hint="refresh_token").status_code == 200
    after = refresh(live, app, token["refresh_token"])
    assert after.status_code == 400
    assert after.json()["error"] == "invalid_grant"
    # RFC 7009 §2.2: an unknown token is not an error.
    assert revoke(live, app, "not-a-token-we-issued").status_code == 200
