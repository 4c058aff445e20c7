"""An Isocenter app per test over the ``engine`` fixture, spoken to over ASGI with httpx.

``client`` is synchronous: requests go through an event loop in a helper thread (anyio's
blocking portal), so tests read top to bottom while the app runs as it does under uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from isocenter.app import create_app
from isocenter.config import Settings
from tests.asgi_client import BlockingClient

BASE_URL = "https://fhir.example.org"
FHIR_BASE = BASE_URL + "/fhir"
FHIR_JSON = "application/fhir+json"


class Client(BlockingClient):
    """The FHIR API on http://testserver, as the tests call it."""

    def __init__(self, app: Starlette, portal: Any, *, raise_app_exceptions: bool = True):
        super().__init__(app, portal, raise_app_exceptions=raise_app_exceptions)


def settings(**overrides: Any) -> Settings:
    return Settings(database_url="sqlite://", base_url=BASE_URL, **overrides)


@pytest.fixture
def app(engine: Engine) -> Starlette:
    return create_app(settings(), engine=engine, guard=False)


@pytest.fixture
def portal() -> Iterator[Any]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def client(app: Starlette, portal: Any) -> Iterator[Client]:
    client = Client(app, portal)
    yield client
    client.close()


def fhir_json(resource: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for a request whose body is ``resource`` as FHIR JSON."""
    return {"json": resource, "headers": {"Content-Type": FHIR_JSON}}


def put(client: Client, resource: dict[str, Any], **headers: str) -> httpx.Response:
    url = f"/fhir/{resource['resourceType']}/{resource['id']}"
    return client.put(url, json=resource, headers={"Content-Type": FHIR_JSON, **headers})


def patient(id: str = "p1", family: str = "Curie", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": id, "name": [{"family": family}], **extra}


def assert_outcome(response: httpx.Response, status: int, code: str | None = None) -> None:
    """The response is ``status`` with an OperationOutcome body (http.html#errors)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"], body
    if code is not None:
        assert body["issue"][0]["code"] == code, body
