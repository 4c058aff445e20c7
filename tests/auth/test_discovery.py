"""Discovery: SMART configuration (SMART App Launch 2.x conformance), OpenID provider
metadata (OIDC Discovery §3), the JWK Set, and the CapabilityStatement's rest.security."""

from __future__ import annotations

from sqlalchemy import Engine

from isocenter.auth.clients import Apps
from isocenter.auth.discovery import smart_configuration
from isocenter.auth.server import AuthServer
from tests.auth.conftest import BASE_URL, FHIR_BASE, Http

REQUIRED_CAPABILITIES = {
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-banner",
    "context-style",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
}


def test_smart_configuration_has_every_required_and_recommended_field(http: Http) -> None:
    response = http.get("/fhir/.well-known/smart-configuration")

    document = response.json()
    assert response.headers["content-type"] == "application/json"
    assert document["issuer"] == BASE_URL
    assert document["jwks_uri"] == BASE_URL + "/auth/jwks"
    assert document["authorization_endpoint"] == BASE_URL + "/auth/authorize"
    assert document["token_endpoint"] == BASE_URL + "/auth/token"
    assert document["introspection_endpoint"] == BASE_URL + "/auth/introspect"
    assert document["revocation_endpoint"] == BASE_URL + "/auth/revoke"
    assert document["management_endpoint"] == BASE_URL + "/auth/manage"
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]
    assert document["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    assert document["response_types_supported"] == ["code"]
    assert {"openid", "fhirUser", "launch", "launch/patient", "offline_access"} <= set(
        document["scopes_supported"]
    )
    assert set(document["capabilities"]) >= REQUIRED_CAPABILITIES


def test_only_s256_is_offered_for_pkce(http: Http) -> None:
    document = http.get("/fhir/.well-known/smart-configuration").json()

    assert document["code_challenge_methods_supported"] == ["S256"]


def test_urls_come_from_the_configured_base_not_the_host_header(http: Http) -> None:
    response = http.get(
        "/fhir/.well-known/smart-configuration", headers={"Host": "evil.example.net"}
    )

    assert "evil" not in response.text


def test_private_key_jwt_is_advertised_only_with_an_assertion_verifier(
    server: AuthServer, engine: Engine
) -> None:
    server.apps = Apps(engine)
    assert "client-confidential-asymmetric" not in smart_configuration(server)["capabilities"]
    assert "client_credentials" not in smart_configuration(server)["grant_types_supported"]

    server.apps = Apps(engine, assertion_verifier=lambda app, assertion: None)
    document = smart_configuration(server)

    assert "client-confidential-asymmetric" in document["capabilities"]
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]


def test_openid_configuration_matches_the_smart_one(http: Http) -> None:
    smart = http.get("/fhir/.well-known/smart-configuration").json()
    openid = http.get("/.well-known/openid-configuration").json()

    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert openid[key] == smart[key]
    assert openid["id_token_signing_alg_values_supported"] == ["RS256"]
    assert openid["subject_types_supported"] == ["public"]
    assert openid["end_session_endpoint"] == BASE_URL + "/auth/logout"
    assert "fhirUser" in openid["claims_supported"]


def test_the_jwks_has_a_signing_key_from_the_first_request(
    http: Http, server: AuthServer
) -> None:
    [key] = http.get("/auth/jwks").json()["keys"]

    assert key["kid"] == server.keys.current().kid
    assert key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key


def test_the_capability_statement_declares_smart_on_fhir(http: Http) -> None:
    [rest] = http.get("/fhir/metadata").json()["rest"]

    security = rest["security"]
    [coding] = security["service"][0]["coding"]
    assert coding == {
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code": "SMART-on-FHIR",
    }
    [oauth] = security["extension"]
    assert (
        oauth["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    )
    uris = {item["url"]: item["valueUri"] for item in oauth["extension"]}
    assert uris == {
        "authorize": BASE_URL + "/auth/authorize",
        "token": BASE_URL + "/auth/token",
        "introspect": BASE_URL + "/auth/introspect",
        "revoke": BASE_URL + "/auth/revoke",
        "manage": BASE_URL + "/auth/manage",
    }
    assert FHIR_BASE.startswith(BASE_URL)
