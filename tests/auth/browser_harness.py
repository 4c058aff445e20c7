"""A browser over ASGI for the authorization flow tests: an Isocenter app with two patients,
a patient user, a clinician user and registered apps, and helpers that walk the real pages.

Test modules take the fixtures with ``from tests.auth.browser_harness import *`` (only the
fixtures in ``__all__``) and import the helpers by name.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio.from_thread
import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from starlette.applications import Starlette

from isocenter.app import create_app
from isocenter.auth import clients as clients_module
from isocenter.auth import pkce
from isocenter.auth import users as users_module
from isocenter.auth.browser import Browser, browser
from isocenter.auth.clients import App
from isocenter.config import Settings
from tests.asgi_client import BlockingClient

__all__ = ["app", "confidential_app", "parts", "portal", "public_app", "users", "web"]

BASE_URL = "https://fhir.example.org"
FHIR_BASE = BASE_URL + "/fhir"
REDIRECT_URI = "https://app.example.com/callback"
LOGOUT_URL = "https://app.example.com/signed-out"
VERIFIER = "v" * 20 + "-._~" + "0123456789" * 3
PASSWORD = "correct horse battery"
APP_SCOPES = (
    "openid fhirUser profile launch launch/patient launch/encounter offline_access "
    "online_access patient/*.rs user/*.rs patient/*.read user/*.read"
)

PATIENTS = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            {
                "type": {"coding": [{"code": "MR"}]},
                "system": "urn:mrn",
                "value": "MRN-1001",
            }
        ],
        "name": [{"use": "official", "family": "Rivera", "given": ["Ana"]}],
        "birthDate": "1961-04-12",
    },
    {
        "resourceType": "Patient",
        "id": "p2",
        "identifier": [{"system": "urn:mrn", "value": "MRN-1002"}],
        "name": [{"family": "Okafor", "given": ["Chidi"]}],
        "birthDate": "1975-09-30",
    },
]


class Browser_(BlockingClient):
    """The authorization server as a browser sees it, at BASE_URL; cookies kept."""

    def __init__(self, app: Starlette, portal: Any) -> None:
        super().__init__(app, portal, base_url=BASE_URL)


def settings(**overrides: Any) -> Settings:
    return Settings(database_url="sqlite://", base_url=BASE_URL, demo=False, **overrides)


# argon2 at its lightest: the tests check the flow, not the hash's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def app(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Starlette:
    monkeypatch.setattr(users_module, "_hasher", FAST_HASHER)
    monkeypatch.setattr(clients_module, "_hasher", FAST_HASHER)
    app = create_app(settings(), engine=engine)
    store = app.state.fhir.store
    with store.writer() as writer:
        for patient in PATIENTS:
            writer.put(patient)
        writer.put({"resourceType": "Practitioner", "id": "d1", "name": [{"family": "Lee"}]})
    return app


@pytest.fixture
def parts(app: Starlette) -> Browser:
    return browser(_FakeRequest(app))  # type: ignore[arg-type]


@pytest.fixture
def portal() -> Iterator[Any]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def web(app: Starlette, portal: Any) -> Iterator[Browser_]:
    client = Browser_(app, portal)
    yield client
    client.close()


@pytest.fixture
def users(parts: Browser) -> None:
    parts.users.add("ana", PASSWORD, "patient", patient_id="p1", display_name="Ana Rivera")
    parts.users.add("dr-lee", PASSWORD, "clinician", practitioner_id="d1")
    parts.users.add("root", PASSWORD, "admin")


@pytest.fixture
def public_app(parts: Browser) -> App:
    return register(parts, "public")


@pytest.fixture
def confidential_app(parts: Browser) -> tuple[App, str]:
    app, secret = parts.apps.register(
        name="Chart Helper",
        client_type="confidential-symmetric",
        redirect_uris=[REDIRECT_URI],
        scopes=APP_SCOPES,
        logout_url=LOGOUT_URL,
    )
    assert secret is not None
    return app, secret


class _FakeRequest:
    def __init__(self, app: Starlette) -> None:
        self.app = app


def register(parts: Browser, client_type: str, scopes: str = APP_SCOPES) -> App:
    app, _secret = parts.apps.register(
        name="Cancer Journal",
        client_type=client_type,
        redirect_uris=[REDIRECT_URI, "https://app.example.com/other"],
        scopes=scopes,
        logout_url=LOGOUT_URL,
        logo_url="https://app.example.com/logo.png",
    )
    return app


def authorize_params(app: App, **overrides: str | None) -> dict[str, str]:
    """A good standalone authorization request; ``None`` in overrides drops a parameter."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid fhirUser launch/patient patient/*.rs offline_access",
        "state": "af0ifjsldkj/+ &=?",
        "aud": FHIR_BASE,
        "code_challenge": pkce.s256(VERIFIER),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: v for k, v in params.items() if v is not None}


def sign_in(web: Browser_, username: str, password: str = PASSWORD) -> httpx.Response:
    page = web.get("/auth/signin")
    fields = hidden_fields(page.text)
    return web.post("/auth/signin", data={**fields, "username": username, "password": password})


def hidden_fields(page: str, form: int = -1) -> dict[str, str]:
    """The hidden inputs of the ``form``-th form on a page (the last by default)."""
    forms = re.findall(r"<form .*?</form>", page, flags=re.S)
    found = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', forms[form])
    return {html.unescape(name): html.unescape(value) for name, value in found}


def redirect_query(response: httpx.Response) -> dict[str, str]:
    """The query of a redirect to the app, one value per name."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def approve(web: Browser_, params: dict[str, str], **choices: Any) -> httpx.Response:
    """GET the authorize URL, then press Allow on the consent page (ticking ``type``s)."""
    page = web.get("/auth/authorize?" + urlencode(params))
    assert page.status_code == 200, (page.status_code, page.headers.get("location"))
    return consent(web, page.text, **choices)


def consent(
    web: Browser_, page: str, decision: str = "approve", **choices: Any
) -> httpx.Response:
    fields = hidden_fields(page)
    assert fields["step"] == "consent"
    ticked = choices.pop("types", None)
    if ticked is None:
        ticked = re.findall(r'name="type" value="([^"]*)"', page)
    data = {**fields, **choices, "decision": decision, "type": ticked}
    return web.post("/auth/authorize", data=data)


def code_for(web: Browser_, app: App, **overrides: str | None) -> tuple[str, dict[str, str]]:
    """Sign-in is the caller's; run authorize + consent and return the code and query."""
    params = authorize_params(app, **overrides)
    query = redirect_query(approve(web, params))
    return query["code"], query


def exchange(web: Browser_, app: App, code: str, **overrides: str | None) -> httpx.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": app.client_id,
        "code_verifier": VERIFIER,
        **overrides,
    }
    return web.post("/auth/token", data={k: v for k, v in form.items() if v is not None})
