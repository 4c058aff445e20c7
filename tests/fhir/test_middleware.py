"""CORS and the access log around every request."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine

from isocenter.app import create_app
from isocenter.fhir.middleware import parameter_names
from tests.fhir.conftest import Client, patient, put, settings


def test_cors_allows_any_origin_by_default_and_exposes_fhir_headers(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient/p1", headers={"Origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"location", "etag", "content-location", "last-modified"} <= exposed


def test_cors_preflight_is_answered(client: Client) -> None:
    response = client.request(
        "OPTIONS",
        "/fhir/Patient/p1",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert response.status_code == 200
    assert "PUT" in response.headers["access-control-allow-methods"]


def test_cors_origins_come_from_settings(engine: Engine, portal: Any) -> None:
    app = create_app(
        settings(cors_allowed_origins=("https://app.example",)), engine=engine, guard=False
    )
    client = Client(app, portal)
    try:
        allowed = client.get("/fhir/metadata", headers={"Origin": "https://app.example"})
        other = client.get("/fhir/metadata", headers={"Origin": "https://evil.example"})
    finally:
        client.close()
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_access_log_has_one_line_with_parameter_names_only(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    put(client, patient())
    with caplog.at_level(logging.INFO, logger="isocenter.access"):
        client.get("/fhir/Patient?family=Curie&_count=5&birthdate=1867-11-07")
    (record,) = [r for r in caplog.records if r.name == "isocenter.access"]
    line = record.getMessage()
    assert line.startswith("GET /fhir/Patient?family,_count,birthdate 200 ")
    assert line.endswith("ms")
    assert "Curie" not in line and "1867" not in line


def test_access_log_never_holds_bodies(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="isocenter.access"):
        put(client, patient(family="Secretname"))
    assert "Secretname" not in caplog.text
    assert "PUT /fhir/Patient/p1 201" in caplog.text


def test_parameter_names_decode_and_keep_order() -> None:
    assert parameter_names(b"a=1&subject%3APatient=2&a=3&flag") == "a,subject:Patient,a,flag"
    assert parameter_names(b"") == ""
