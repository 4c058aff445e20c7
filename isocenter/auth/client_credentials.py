"""``grant_type=client_credentials`` for backend services (RFC 6749 §4.4).

SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html): a
confidential-asymmetric app, already authenticated by its client assertion, asks for
``system/`` scopes. It is granted those of them its registration covers (v1 or v2 forms),
for ``backend_access_token_lifetime_seconds``, without a refresh token (RFC 6749 §4.4.3).
"""

from __future__ import annotations

from typing import Any

from isocenter.auth import audit
from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from isocenter.auth.errors import InvalidScope, UnauthorizedClient
from isocenter.auth.scopes import ScopeError, grantable, parse_scope
from isocenter.auth.tokens import issue_access_token

CLIENT_CREDENTIALS = "client_credentials"
ASYMMETRIC = "confidential-asymmetric"


def grant(parts: Browser, app: App, form: dict[str, str]) -> dict[str, Any]:
    """The token response for an authenticated backend app (RFC 6749 §4.4.3)."""
    if app.client_type != ASYMMETRIC:
        # SMART Backend Services authenticates with a signed assertion, never a secret.
        raise UnauthorizedClient("client_credentials is only for confidential-asymmetric apps")
    scope = granted_scope(form.get("scope") or "", app.scopes)
    lifetime = parts.settings.backend_access_token_lifetime_seconds
    access, _jti, _expires_at = issue_access_token(
        parts.keys,
        client_id=app.client_id,
        username=None,
        scope=scope,
        patient=None,
        encounter=None,
        fhir_user=None,
        authorization_id=None,
        lifetime_seconds=lifetime,
    )
    audit.record(parts.engine, action="token", outcome=200, client_id=app.client_id)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }


def granted_scope(requested: str, registered: str) -> str:
    """The ``system/`` scopes asked for that the registration covers; else ``InvalidScope``."""
    if not requested.strip():
        raise InvalidScope("scope is required")
    try:
        asked = parse_scope(requested)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from exc
    others = [scope.text for scope in asked if scope.context != "system"]
    if others:
        raise InvalidScope(f"only system/ scopes are granted to backend services: {others[0]}")
    scope = grantable(requested, registered)
    if not scope:
        raise InvalidScope("none of the requested scopes is registered for this app")
    return scope
