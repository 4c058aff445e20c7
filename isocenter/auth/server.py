"""The authorization server's shared parts, built once per app and kept on its state.

``app.state.auth`` holds one ``AuthServer``; the token endpoint, the guard, the admin pages
and the discovery documents use the same objects, so a revocation made by any of them is
seen by the guard of this process at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.requests import Request

from isocenter.auth.clients import Apps
from isocenter.auth.keys import SigningKeys
from isocenter.auth.revocation import RevocationList
from isocenter.auth.users import Users
from isocenter.config import Settings


@dataclass
class AuthServer:
    settings: Settings
    engine: Engine
    keys: SigningKeys
    revocations: RevocationList
    apps: Apps
    users: Users


def build_auth_server(settings: Settings, engine: Engine) -> AuthServer:
    return AuthServer(
        settings=settings,
        engine=engine,
        keys=SigningKeys(engine, settings),
        revocations=RevocationList(engine),
        apps=Apps(engine),
        users=Users(engine),
    )


def auth_server(request: Request) -> AuthServer:
    server: AuthServer = request.app.state.auth
    return server
