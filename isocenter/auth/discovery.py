"""Discovery documents: SMART configuration, OpenID provider metadata, the JWK Set.

SMART App Launch 2.x, conformance (https://hl7.org/fhir/smart-app-launch/conformance.html):
``[fhir base]/.well-known/smart-configuration``. OpenID Connect Discovery 1.0 §3:
``[issuer]/.well-known/openid-configuration``. Every URL is built from the configured
public base URL, never from the request's Host header. Private key JWT client
authentication, the client_credentials grant and system scopes are advertised only once a
client assertion verifier is plugged in.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from isocenter.auth.server import AuthServer, auth_server

SMART_CONFIGURATION_PATH = "/fhir/.well-known/smart-configuration"
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/auth/jwks"
AUTHORIZE_PATH = "/auth/authorize"
TOKEN_PATH = "/auth/token"
INTROSPECT_PATH = "/auth/introspect"
REVOKE_PATH = "/auth/revoke"
MANAGE_PATH = "/auth/manage"
LOGOUT_PATH = "/auth/logout"

IDENTITY_SCOPES = ["openid", "fhirUser", "profile"]
LAUNCH_SCOPES = ["launch", "launch/patient", "launch/encounter"]
REFRESH_SCOPES = ["offline_access", "online_access"]
RESOURCE_SCOPE_EXAMPLES = [
    "patient/*.rs",
    "user/*.rs",
    "user/*.cruds",
    "patient/*.read",
    "user/*.read",
]
# SMART Backend Services (client_credentials with a client assertion).
SYSTEM_SCOPE_EXAMPLES = ["system/*.rs", "system/*.read"]
CAPABILITIES = [
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
]
ASSERTION_ALGORITHMS = ["RS384", "ES384"]  # SMART Backend Services: at least these two
ID_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"]


def smart_configuration(server: AuthServer) -> dict[str, Any]:
    base = server.settings.base_url.rstrip("/")
    asymmetric = server.apps.assertion_verifier is not None
    document: dict[str, Any] = {
        "issuer": base,
        "jwks_uri": base + JWKS_PATH,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "token_endpoint_auth_methods_supported": _auth_methods(asymmetric),
        "grant_types_supported": ["authorization_code", "refresh_token"]
        + (["client_credentials"] if asymmetric else []),
        "scopes_supported": IDENTITY_SCOPES
        + LAUNCH_SCOPES
        + REFRESH_SCOPES
        + RESOURCE_SCOPE_EXAMPLES
        + (SYSTEM_SCOPE_EXAMPLES if asymmetric else []),
        "response_types_supported": ["code"],
        "introspection_endpoint": base + INTROSPECT_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "management_endpoint": base + MANAGE_PATH,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES
        + (["client-confidential-asymmetric"] if asymmetric else []),
    }
    if asymmetric:
        document["token_endpoint_auth_signing_alg_values_supported"] = ASSERTION_ALGORITHMS
    return document


def openid_configuration(server: AuthServer) -> dict[str, Any]:
    smart = smart_configuration(server)
    base = smart["issuer"]
    document = {
        key: smart[key]
        for key in (
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "scopes_supported",
            "response_types_supported",
            "grant_types_supported",
            "token_endpoint_auth_methods_supported",
            "code_challenge_methods_supported",
            "introspection_endpoint",
            "revocation_endpoint",
        )
    }
    document.update(
        {
            "end_session_endpoint": base + LOGOUT_PATH,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ID_TOKEN_CLAIMS,
        }
    )
    return document


def _auth_methods(asymmetric: bool) -> list[str]:
    methods = ["client_secret_basic", "client_secret_post"]
    return methods + ["private_key_jwt"] if asymmetric else methods


async def smart_configuration_endpoint(request: Request) -> JSONResponse:
    return _public(smart_configuration(auth_server(request)))


async def openid_configuration_endpoint(request: Request) -> JSONResponse:
    return _public(openid_configuration(auth_server(request)))


async def jwks_endpoint(request: Request) -> JSONResponse:
    # A new key signs from the moment it is published; a short max-age keeps caches fresh.
    jwks = await run_in_threadpool(auth_server(request).keys.jwks)
    return _public(jwks, max_age=60)


def _public(document: dict[str, Any], max_age: int = 300) -> JSONResponse:
    return JSONResponse(document, headers={"Cache-Control": f"public, max-age={max_age}"})


def discovery_routes() -> list[BaseRoute]:
    return [
        Route(SMART_CONFIGURATION_PATH, smart_configuration_endpoint, methods=["GET"]),
        Route(OPENID_CONFIGURATION_PATH, openid_configuration_endpoint, methods=["GET"]),
        Route(JWKS_PATH, jwks_endpoint, methods=["GET"]),
    ]
