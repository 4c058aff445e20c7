"""Every error is an OperationOutcome with the right status (R4 http.html#errors)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from isocenter.fhir import routes
from tests.fhir.conftest import FHIR_JSON, Client, assert_outcome, fhir_json, patient


def test_unknown_route_under_fhir_is_404(client: Client) -> None:
    assert_outcome(client.get("/fhir/Patient/p1/_history/1/extra"), 404, "not-found")
    assert_outcome(client.get("/fhir/Patient/p1/$everything/x/y"), 404, "not-found")


def test_wrong_method_on_a_known_route_is_405_with_allow(client: Client) -> None:
    response = client.delete("/fhir/Patient")
    assert_outcome(response, 405, "not-supported")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    response = client.post("/fhir/metadata")
    assert_outcome(response, 405)
    assert "GET" in response.headers["allow"]


def test_body_that_is_not_json_by_media_type_is_415(client: Client) -> None:
    response = client.post(
        "/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/xml"}
    )
    assert_outcome(response, 415, "not-supported")
    assert_outcome(client.post("/fhir/Patient", content=b"{}"), 415)


@pytest.mark.parametrize("content_type", [FHIR_JSON, "application/json; charset=utf-8"])
def test_json_media_types_are_accepted(client: Client, content_type: str) -> None:
    body = b'{"resourceType": "Patient"}'
    response = client.post(
        "/fhir/Patient", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"Patient"',
        b'{"id": "p1"}',
        b'{"resourceType": 7}',
        b'{"resourceType": "Patient", "id": 12}',
        b'{"resourceType": "Patient", "id": "bad id"}',
        b'{"resourceType": "Patient", "name": {"family": "Curie"}}',
        b'{"resourceType": "Patient", "gender": 1}',
        b'{"resourceType": "Patient", "active": "yes"}',
        b'{"resourceType": "Patient", "meta": "v1"}',
        b'{"resourceType": "Patient", "birthDate": null}',
        b'{"resourceType": "Observation", "status": "final"}',
    ],
    ids=[
        "invalid-json",
        "array",
        "string",
        "no-resourceType",
        "resourceType-not-string",
        "id-not-string",
        "id-malformed",
        "repeating-element-not-array",
        "string-element-as-number",
        "boolean-element-as-string",
        "meta-not-object",
        "null-element",
        "other-type",
    ],
)
def test_bad_bodies_are_400(client: Client, body: bytes) -> None:
    response = client.post("/fhir/Patient", content=body, headers={"Content-Type": FHIR_JSON})
    assert_outcome(response, 400, "invalid")


def test_bad_body_on_update_is_400_and_stores_nothing(client: Client) -> None:
    bad = {"resourceType": "Patient", "id": "p1", "name": "Curie"}
    assert_outcome(client.put("/fhir/Patient/p1", **fhir_json(bad)), 400, "invalid")
    assert client.get("/fhir/Patient/p1").status_code == 404


def test_unexpected_failure_is_500_with_an_outcome(
    app: Starlette, portal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.fhir.store, "read", broken)
    client = Client(app, portal, raise_app_exceptions=False)
    try:
        client.put("/fhir/Patient/p1", **fhir_json(patient()))
        response = client.get("/fhir/Patient/p1")
    finally:
        client.close()
    assert_outcome(response, 500, "exception")
    assert "boom" not in response.text


def test_every_route_is_a_fhir_interaction() -> None:
    paths = [route.path for route in routes.fhir_routes()]  # type: ignore[attr-defined]
    assert all(path.startswith("/fhir") for path in paths)


def test_an_operation_is_not_supported(client: Client) -> None:
    assert_outcome(client.get("/fhir/Patient/$everything"), 400, "not-supported")
    assert_outcome(client.get("/fhir/Patient/p1/$everything"), 404, "not-found")
