"""The kick-off request (export.html#bulk-data-kick-off-request), grouped by header and
parameter: each bad input answers with its status and an OperationOutcome naming it,
lenient handling ignores it and says so in the error file, and access decides who may
start an export and of which types."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from isocenter.bulk.service import BulkService
from tests.bulk.conftest import KICK_OFF, Http, token_for
from tests.bulk.exports import export, kick_off, lines


def kick(http: Http, token: str | None, path: str = "/fhir/$export", **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", KICK_OFF)
    return http.request("GET", path, token, headers=headers, **kwargs)


def assert_outcome(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert text in outcome["issue"][0]["diagnostics"]


# --- headers ----------------------------------------------------------------------


def test_kick_off_answers_202_with_the_status_url(http: Http, token: str) -> None:
    response = kick(http, token)
    assert response.status_code == 202
    assert "/fhir/bulk-status/" in response.headers["Content-Location"]


def test_missing_prefer_respond_async_is_refused(http: Http, token: str) -> None:
    response = kick(http, token, headers={"Accept": "application/fhir+json"})
    assert_outcome(response, 400, "Prefer: respond-async")


def test_missing_accept_is_refused(http: Http, token: str) -> None:
    response = kick(http, token, headers={"Prefer": "respond-async"})
    assert_outcome(response, 400, "Accept: application/fhir+json")


def test_other_accept_is_refused(http: Http, token: str) -> None:
    headers = {"Accept": "application/xml", "Prefer": "respond-async"}
    assert_outcome(kick(http, token, headers=headers), 400, "Accept")


# --- parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"_type": "Patient,Spaceship"}, "_type"),
        ({"_outputFormat": "text/csv"}, "_outputFormat"),
        ({"_since": "yesterday"}, "_since"),
        ({"_since": "2020-01-01T00:00:00"}, "_since"),
        ({"_until": "soon"}, "_until"),
        ({"_typeFilter": "Patient?shoe-size=12"}, "_typeFilter"),
        ({"_typeFilter": "Patient?_sort=name"}, "_typeFilter"),
        ({"includeAssociatedData": "LatestProvenanceResources"}, "includeAssociatedData"),
        ({"patient": "Patient/1"}, "patient"),
        ({"_colour": "red"}, "_colour"),
    ],
)
def test_an_unsupported_value_answers_400_naming_the_parameter(
    http: Http, token: str, params: dict[str, str], name: str
) -> None:
    response = kick(http, token, params=params)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert f"parameter {name!r}" in issue["diagnostics"]
    assert issue["expression"] == [name]


@pytest.mark.parametrize("value", ["application/fhir+ndjson", "application/ndjson", "ndjson"])
def test_every_ndjson_output_format_is_accepted(http: Http, token: str, value: str) -> None:
    assert kick(http, token, params={"_outputFormat": value}).status_code == 202


def test_lenient_handling_ignores_the_value_and_reports_it_in_the_error_file(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    headers = {**KICK_OFF, "Prefer": "respond-async, handling=lenient"}
    params = {"_type": "Patient,Spaceship", "_outputFormat": "text/csv"}
    document = export(http, service, token, params=params, headers=headers)
    assert [entry["type"] for entry in document["output"]] == ["Patient"]
    [error] = document["error"]
    outcomes = lines(http, token, error["url"])
    diagnostics = " ".join(o["issue"][0]["diagnostics"] for o in outcomes)
    assert "'_type'" in diagnostics and "Spaceship" in diagnostics
    assert "'_outputFormat'" in diagnostics


def test_post_takes_a_parameters_body(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "_type", "valueString": "Patient"}],
    }
    document = export(http, service, token, method_post=body)
    assert [entry["type"] for entry in document["output"]] == ["Patient"]


def test_post_with_another_body_is_refused(http: Http, token: str) -> None:
    response = http.request(
        "POST", "/fhir/$export", token, headers=KICK_OFF, json={"resourceType": "Patient"}
    )
    assert_outcome(response, 400, "Parameters")


# --- Group ------------------------------------------------------------------------


def test_an_unknown_group_answers_404(http: Http, token: str) -> None:
    assert_outcome(kick(http, token, "/fhir/Group/nobody/$export"), 404, "Group/nobody")


# --- access -----------------------------------------------------------------------


def test_no_token_answers_401(http: Http) -> None:
    assert kick(http, None).status_code == 401


def test_a_patient_limited_token_never_starts_an_export(app: Starlette, http: Http) -> None:
    token = token_for(app, "portal", "patient/*.read", patient="p1")
    for path in ("/fhir/$export", "/fhir/Patient/$export"):
        assert_outcome(kick(http, token, path), 403, "patient-limited")


def test_a_user_level_token_may_start_an_export(app: Starlette, http: Http) -> None:
    token = token_for(app, "clinic", "user/*.read")
    assert kick(http, token).status_code == 202


def test_a_type_outside_the_scopes_is_refused(app: Starlette, http: Http) -> None:
    token = token_for(app, "narrow", "system/Patient.read")
    assert_outcome(kick(http, token, params={"_type": "Observation"}), 403, "Observation")


def test_the_exported_types_are_those_the_token_may_read(
    app: Starlette, http: Http, service: BulkService, loaded: list[str]
) -> None:
    token = token_for(app, "narrow", "system/Patient.read system/Condition.read")
    document = export(http, service, token)
    assert {entry["type"] for entry in document["output"]} == {"Patient", "Condition"}


def test_a_client_may_run_only_so_many_exports_at_once(
    http: Http, service: BulkService, token: str
) -> None:
    for _ in range(service.settings.export_max_jobs_per_client):
        kick_off(http, token)
    response = kick(http, token)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
