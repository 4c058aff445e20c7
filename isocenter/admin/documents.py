"""The JSON shapes of apps and users, as the admin API and ``--json`` CLI output show them.

Never a secret or a hash: a new client secret is added by the caller, once, beside the
document (``with_secret``).
"""

from __future__ import annotations

from typing import Any

from isocenter.store.instants import to_instant

Json = dict[str, Any]


def app_document(app: Any) -> Json:
    """An app's registration (RFC 7591 §2 names where one exists)."""
    return {
        "client_id": app.client_id,
        "client_name": app.name,
        "client_type": app.client_type,
        "redirect_uris": list(app.redirect_uris),
        "launch_url": app.launch_url,
        "logout_url": app.logout_url,
        "logo_uri": app.logo_url,
        "scope": app.scopes,
        "jwks_uri": app.jwks_url,
        "jwks": app.jwks,
        "enabled": app.enabled,
        "created_at": to_instant(app.created_at),
        "updated_at": to_instant(app.updated_at),
    }


def with_secret(document: Json, secret: str | None) -> Json:
    """``document`` plus the client secret just issued (shown this once)."""
    return {**document, "client_secret": secret} if secret else document


def user_document(user: Any) -> Json:
    return {
        "username": user.username,
        "role": user.role,
        "patient_id": user.patient_id,
        "practitioner_id": user.practitioner_id,
        "display_name": user.display_name,
        "enabled": user.enabled,
        "created_at": to_instant(user.created_at),
    }
