"""The parts the admin pages and API work with, built once per app from its state.

The auth core's apps, users and revocation list (``request.app.state.auth``: the same
objects the token endpoint and the guard use, so a revocation here is seen at once), the
site's sign-in sessions, and this package's templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from starlette.requests import Request

from isocenter.admin.pages import Gate, Renderer
from isocenter.auth.clients import Apps
from isocenter.auth.revocation import RevocationList
from isocenter.auth.sessions import Sessions
from isocenter.auth.users import Users
from isocenter.config import Settings


@dataclass
class Admin:
    settings: Settings
    engine: Engine
    apps: Apps
    users: Users
    revocations: RevocationList
    renderer: Renderer
    gate: Gate


def build(
    settings: Settings, engine: Engine, *, apps: Apps, users: Users, revocations: RevocationList
) -> Admin:
    renderer = Renderer(secure=settings.base_url.startswith("https://"))
    sessions = Sessions(engine, lifetime_seconds=settings.session_lifetime_seconds)
    gate = Gate(sessions, users, renderer, role="admin", home="/admin")
    return Admin(settings, engine, apps, users, revocations, renderer, gate)


def admin(request: Request) -> Admin:
    """The app's ``Admin``, built on first use."""
    state = request.app.state
    found: Admin | None = getattr(state, "admin", None)
    if found is None:
        found = state.admin = _from_state(state)
    return found


def _from_state(state: Any) -> Admin:
    fhir, auth = state.fhir, state.auth
    return build(
        fhir.settings,
        fhir.store.engine,
        apps=auth.apps,
        users=auth.users,
        revocations=auth.revocations,
    )
