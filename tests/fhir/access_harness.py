"""A guarded Isocenter app over the ``engine`` fixture, a few resources, and signed tokens
for any scope: what the access-control tests of the FHIR layer share."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
from sqlalchemy import Engine
from starlette.applications import Starlette

from isocenter.app import create_app
from isocenter.auth.tokens import issue_access_token
from tests.fhir.conftest import settings

CLIENT_ID = "access-test-app"
LAB = "http://terminology.hl7.org/CodeSystem/observation-category"


def observation(id: str, patient: str, category: str, code: str = "718-7") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{"coding": [{"system": LAB, "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "performer": [{"reference": "Practitioner/dr"}],
    }


RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "One"}]},
    {"resourceType": "Patient", "id": "p2", "name": [{"family": "Two"}]},
    {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Doctor"}]},
    observation("lab1", "p1", "laboratory"),
    observation("vital1", "p1", "vital-signs", "8867-4"),
    observation("survey1", "p1", "survey", "72166-2"),
    observation("lab2", "p2", "laboratory"),
    {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "x"},
    },
]


class Api:
    """Requests to the app with a bearer token for a given scope."""

    def __init__(self, app: Starlette, portal: Any) -> None:
        self.app = app
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self._portal = portal

    def token(self, scope: str, *, patient: str | None = None, user: str | None = None) -> str:
        token, _, _ = issue_access_token(
            self.app.state.auth.keys,
            client_id=CLIENT_ID,
            username=user,
            scope=scope,
            patient=patient,
            encounter=None,
            fhir_user=f"Practitioner/{user}" if user else None,
            authorization_id=None,
        )
        return token

    def request(
        self, method: str, url: str, scope: str, patient: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token(scope, patient=patient)}",
            "Content-Type": "application/fhir+json",
            **kwargs.pop("headers", {}),
        }
        call = functools.partial(self._client.request, method, url, headers=headers, **kwargs)
        response: httpx.Response = self._portal.call(call)
        return response

    def get(self, url: str, scope: str, patient: str | None = None) -> httpx.Response:
        return self.request("GET", url, scope, patient)

    def close(self) -> None:
        self._portal.call(self._client.aclose)


def serve(engine: Engine) -> Iterator[Api]:
    """For a test module's ``api`` fixture: the app over ``engine`` with ``RESOURCES``."""
    app = create_app(settings(demo=False), engine=engine)
    with app.state.fhir.store.writer() as writer:
        writer.put_many([dict(resource) for resource in RESOURCES])
    with anyio.from_thread.start_blocking_portal() as portal:
        client = Api(app, portal)
        yield client
        client.close()


def ids(response: httpx.Response, mode: str | None = None) -> list[str]:
    """``Type/id`` of a Bundle's entries (of one search mode, if given), sorted."""
    assert response.status_code == 200, response.text
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in response.json().get("entry", [])
        if "resource" in e and (mode is None or e.get("search", {}).get("mode") == mode)
    )


def is_forbidden(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["issue"][0]["code"] == "forbidden"
