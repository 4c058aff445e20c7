"""Bulk export fixtures: a guarded app over the ``engine`` fixture with three Synthea
patients of the shared data loaded, bearer tokens for backend clients, and a way to run
the queued jobs in the test's own thread (the in-process worker thread is switched off,
so tests decide when a job runs)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from isocenter.app import create_app
from isocenter.auth.tokens import issue_access_token
from isocenter.bulk.service import BulkService
from isocenter.config import Settings
from isocenter.ingest.bundle import process_bundle
from tests.conftest import SHARED_DATA

BASE_URL = "https://fhir.example.org"
FHIR_BASE = BASE_URL + "/fhir"
KICK_OFF = {"Accept": "application/fhir+json", "Prefer": "respond-async"}
SYNTHEA = SHARED_DATA / "synthea" / "bulk-data-server"
# Three small patients of the shared Synthea data (README: 28 to ~60 entries each).
PATIENT_FILES = (
    "Fannie_Waelchi_8666cd40-7af9-48c6-a1a6-86a161195542.json",
    "Dwain_McGlynn_7515d14b-843b-4210-8b6b-a33ab253d560.json",
    "Myles_Hoppe_3cbdd43e-7cb5-48b0-a097-47fecc7b4098.json",
)


class Http:
    """A blocking facade over ``httpx.AsyncClient`` on the app's ASGI transport."""

    def __init__(self, app: Starlette, portal: Any) -> None:
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        self._portal = portal

    def request(
        self, method: str, url: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        call = functools.partial(self._client.request, method, url, headers=headers, **kwargs)
        response: httpx.Response = self._portal.call(call)
        return response

    def close(self) -> None:
        self._portal.call(self._client.aclose)


@pytest.fixture
def bulk_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        base_url=BASE_URL,
        demo=False,
        export_dir=tmp_path / "exports",
        export_in_process_worker=False,
        export_retry_after_seconds=2,
    )


@pytest.fixture
def app(engine: Engine, bulk_settings: Settings) -> Starlette:
    return create_app(bulk_settings, engine=engine)


@pytest.fixture
def service(app: Starlette) -> BulkService:
    bulk: BulkService = app.state.bulk
    return bulk


@pytest.fixture
def loaded(app: Starlette) -> list[str]:
    """Load the three patients; returns their Patient ids."""
    context = app.state.fhir
    ids = []
    for name in PATIENT_FILES:
        bundle = json.loads((SYNTHEA / name).read_text())
        process_bundle(
            context.store,
            context.search_engine(),
            bundle,
            fhir_base_url=FHIR_BASE,
            keep_ids=True,
        )
        patient = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        ids.append(patient["id"])
    return ids


@pytest.fixture
def http(app: Starlette) -> Iterator[Http]:
    with anyio.from_thread.start_blocking_portal() as portal:
        client = Http(app, portal)
        yield client
        client.close()


def token_for(
    app: Starlette, client_id: str, scope: str = "system/*.read", patient: str | None = None
) -> str:
    token, _, _ = issue_access_token(
        app.state.auth.keys,
        client_id=client_id,
        username=None,
        scope=scope,
        patient=patient,
        encounter=None,
        fhir_user=None,
        authorization_id=None,
    )
    return token


@pytest.fixture
def token(app: Starlette) -> str:
    return token_for(app, "analytics")
