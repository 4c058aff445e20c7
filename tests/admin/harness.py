"""An Isocenter app with users, spoken to over ASGI by a client that keeps cookies like a
browser, for the admin and EHR tests. Signing in goes through the real ``/auth/signin``.

"""

from __future__ import annotations

import base64
import html
import re
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
from isocenter.auth.server import AuthServer
from isocenter.config import Settings
from tests.asgi_client import BlockingClient

# argon2 at its lightest: these tests check the pages, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
BASE_URL = "https://fhir.example.org"
FHIR_BASE = BASE_URL + "/fhir"
PASSWORD = "correct horse battery"


class Web(BlockingClient):
    """The site as a browser sees it, at BASE_URL; cookies kept, no redirects."""

    def __init__(self, app: Starlette, portal: Any) -> None:
        super().__init__(app, portal, base_url=BASE_URL)


def settings(**overrides: Any) -> Settings:
    return Settings(database_url="sqlite://", base_url=BASE_URL, demo=False, **overrides)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_module, "_hasher", FAST_HASHER)
    monkeypatch.setattr(clients_module, "_hasher", FAST_HASHER)


@pytest.fixture
def app(engine: Engine) -> Starlette:
    return create_app(settings(), engine=engine)


@pytest.fixture
def auth(app: Starlette) -> AuthServer:
    """The auth core's parts of the app: apps, users, revocations."""
    server: AuthServer = app.state.auth
    return server


@pytest.fixture
def portal() -> Iterator[Any]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def web(app: Starlette, portal: Any) -> Iterator[Web]:
    client = Web(app, portal)
    yield client
    client.close()


@pytest.fixture
def people(app: Starlette) -> None:
    """A site admin, a clinician and a patient, with Practitioner/d1 and Patient/p1."""
    with app.state.fhir.store.writer() as writer:
        writer.put(_patient("p1", "Rivera", "Ana", "1961-04-12", "MRN-1001"))
        writer.put(_patient("p2", "Okafor", "Chidi", "1975-09-30", "MRN-1002"))
        writer.put({"resourceType": "Practitioner", "id": "d1", "name": [{"family": "Lee"}]})
    users = app.state.auth.users
    users.add("root", PASSWORD, "admin", display_name="Site Admin")
    users.add("dr-lee", PASSWORD, "clinician", practitioner_id="d1")
    users.add("ana", PASSWORD, "patient", patient_id="p1")


def sign_in(
    web: Web, username: str, next_path: str, password: str = PASSWORD
) -> httpx.Response:
    """Sign in on the real sign-in page, coming from ``next_path``."""
    page = web.get(next_path)
    if page.status_code == 303:
        page = web.get(page.headers["location"])
    fields = hidden_fields(page.text)
    data = {**fields, "username": username, "password": password}
    return web.post("/auth/signin", data=data)


def hidden_fields(page: str, form: int = -1) -> dict[str, str]:
    """The hidden inputs of the ``form``-th form on a page (the last by default)."""
    forms = re.findall(r"<form .*?</form>", page, flags=re.S)
    found = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', forms[form])
    return {html.unescape(name): html.unescape(value) for name, value in found}


def csrf(web: Web) -> str:
    return str(web.cookies.get("isocenter_csrf"))


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _patient(id: str, family: str, given: str, birth_date: str, mrn: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": id,
        "identifier": [
            {"type": {"coding": [{"code": "MR"}]}, "system": "urn:mrn", "value": mrn}
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": birth_date,
    }
