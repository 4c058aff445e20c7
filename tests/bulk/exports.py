"""Helpers for export tests: kick off, run the job, read the manifest and the files."""

from __future__ import annotations

import json
from typing import Any

from isocenter.bulk.service import BulkService
from tests.bulk.conftest import FHIR_BASE, KICK_OFF, Http


def kick_off(
    http: Http,
    token: str,
    path: str = "/fhir/$export",
    method_post: dict[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    """Start an export (POST with ``method_post`` as the Parameters body); returns the
    status URL, asserting 202."""
    if method_post is not None:
        kwargs["json"] = method_post
    method = "GET" if method_post is None else "POST"
    kwargs.setdefault("headers", KICK_OFF)
    response = http.request(method, path, token, **kwargs)
    assert response.status_code == 202, response.text
    location: str = response.headers["Content-Location"]
    assert location.startswith(FHIR_BASE + "/bulk-status/")
    return location


def run_jobs(service: BulkService) -> None:
    service.worker.run_pending()


def manifest(http: Http, token: str, status_url: str) -> dict[str, Any]:
    response = http.request("GET", status_url, token)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def export(
    http: Http, service: BulkService, token: str, path: str = "/fhir/$export", **kwargs: Any
) -> dict[str, Any]:
    status_url = kick_off(http, token, path, **kwargs)
    run_jobs(service)
    return manifest(http, token, status_url)


def lines(http: Http, token: str, url: str) -> list[dict[str, Any]]:
    response = http.request("GET", url, token, headers={"Accept": "application/fhir+ndjson"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    text = response.content.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def resources(http: Http, token: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for entry in document["output"]:
        in_file = lines(http, token, entry["url"])
        assert len(in_file) == entry["count"]
        assert all(r["resourceType"] == entry["type"] for r in in_file)
        found.extend(in_file)
    return found
