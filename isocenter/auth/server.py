"""The authorization server's shared parts, built once per app and kept on its state.

``app.state.auth`` holds one ``AuthServer``; the token endpoint, the guard, the admin pages
and the discovery documents use the same objects, so a revocation made by any of them is
seen by the guard of this process at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.requests import Request

from isocenter.auth.assertions import ClientAssertions
from isocenter.auth.clients import Apps
from isocenter.auth.jwks_fetch import JwksFetcher
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
        apps=Apps(engine, assertion_verifier=client_assertions(settings, engine).verify),
        users=Users(engine),
    )


def client_assertions(settings: Settings, engine: Engine) -> ClientAssertions:
    """The private_key_jwt verifier: assertions addressed to this server's token URL."""
    return ClientAssertions(
        engine,
        token_url=settings.base_url.rstrip("/") + "/auth/token",  # discovery.TOKEN_PATH
        fetcher=JwksFetcher(development=settings.development),
    )


def auth_server(request: Request) -> AuthServer:
    server: AuthServer = request.app.state.auth
    return server
