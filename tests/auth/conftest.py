"""Auth fixtures over the ``engine`` fixture: signing keys, revocation list, settings, and
a guarded Isocenter app spoken to over ASGI (``http``), with its auth parts (``server``)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from starlette.applications import Starlette

from isocenter.app import create_app
from isocenter.auth import clients as clients_module
from isocenter.auth import users as users_module
from isocenter.auth.keys import SigningKeys
from isocenter.auth.revocation import RevocationList
from isocenter.auth.server import AuthServer
from isocenter.config import Settings

BASE_URL = "https://fhir.example.org"
FHIR_BASE = BASE_URL + "/fhir"
# argon2 at its lightest: these tests check decisions, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_module, "_hasher", FAST_HASHER)
    monkeypatch.setattr(clients_module, "_hasher", FAST_HASHER)


@pytest.fixture
def auth_settings() -> Settings:
    return Settings(database_url="sqlite://", base_url=BASE_URL, demo=False)


@pytest.fixture
def keys(engine: Engine, auth_settings: Settings) -> SigningKeys:
    return SigningKeys(engine, auth_settings)


@pytest.fixture
def revocations(engine: Engine) -> RevocationList:
    return RevocationList(engine)


class Http:
    """A blocking facade over ``httpx.AsyncClient`` on the app's ASGI transport."""

    def __init__(self, app: Starlette, portal: Any) -> None:
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        self._portal = portal

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        call = functools.partial(self._client.request, method, url, **kwargs)
        response: httpx.Response = self._portal.call(call)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)


@pytest.fixture
def guarded_app(engine: Engine, auth_settings: Settings) -> Starlette:
    return create_app(auth_settings, engine=engine)


@pytest.fixture
def server(guarded_app: Starlette) -> AuthServer:
    auth: AuthServer = guarded_app.state.auth
    return auth


@pytest.fixture
def http(guarded_app: Starlette) -> Iterator[Http]:
    with anyio.from_thread.start_blocking_portal() as portal:
        client = Http(guarded_app, portal)
        yield client
        client.close()
