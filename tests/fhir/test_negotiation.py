"""Content negotiation: Accept, _format, _pretty (R4 http.html#mime-type)."""

from __future__ import annotations

import pytest

from isocenter.fhir.negotiation import FHIR_JSON, PLAIN_JSON, negotiate
from isocenter.outcomes import OperationOutcomeError
from tests.fhir.conftest import Client, assert_outcome, patient, put


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, FHIR_JSON),
        ("", FHIR_JSON),
        ("application/fhir+json", FHIR_JSON),
        ("application/fhir+json; fhirVersion=4.0", FHIR_JSON),
        ("application/json", PLAIN_JSON),
        ("application/json+fhir", FHIR_JSON),
        ("*/*", FHIR_JSON),
        ("application/*", FHIR_JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", FHIR_JSON),
        ("application/fhir+xml;q=0.9, application/json;q=0.5", PLAIN_JSON),
        ("application/json;q=0.4, application/fhir+json;q=0.8", FHIR_JSON),
    ],
)
def test_accept_header_table(accept: str | None, media_type: str) -> None:
    assert negotiate(accept, None, None).media_type == media_type


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+xml",
        "application/xml",
        "text/xml",
        "text/plain",
        "application/json;q=0",
    ],
)
def test_accept_without_json_is_406(accept: str) -> None:
    with pytest.raises(OperationOutcomeError) as raised:
        negotiate(accept, None, None)
    assert raised.value.status == 406


@pytest.mark.parametrize(
    ("value", "media_type"),
    [
        ("json", FHIR_JSON),
        ("application/fhir+json", FHIR_JSON),
        ("application/fhir json", FHIR_JSON),  # an unencoded + arrives as a space
        ("application/json", PLAIN_JSON),
    ],
)
def test_format_parameter_table(value: str, media_type: str) -> None:
    assert negotiate("application/fhir+xml", value, None).media_type == media_type


@pytest.mark.parametrize("value", ["xml", "application/fhir+xml", "text/xml", "html", "*/*"])
def test_format_parameter_other_than_json_is_406(value: str) -> None:
    with pytest.raises(OperationOutcomeError) as raised:
        negotiate(None, value, None)
    assert raised.value.status == 406


def test_xml_asked_for_by_accept_is_406_over_http(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient/p1", headers={"Accept": "application/fhir+xml"})
    assert_outcome(response, 406, "not-supported")


def test_xml_asked_for_by_format_is_406_over_http(client: Client) -> None:
    assert_outcome(client.get("/fhir/metadata?_format=xml"), 406, "not-supported")


def test_format_json_overrides_an_xml_accept(client: Client) -> None:
    put(client, patient())
    headers = {"Accept": "application/fhir+xml"}
    response = client.get("/fhir/Patient/p1?_format=json", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json; charset=utf-8"


def test_plain_json_accept_is_answered_as_plain_json(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient/p1", headers={"Accept": "application/json"})
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_pretty_true_indents_and_keeps_content(client: Client) -> None:
    put(client, patient())
    compact = client.get("/fhir/Patient/p1")
    pretty = client.get("/fhir/Patient/p1?_pretty=true")
    assert b"\n  " in pretty.content and b"\n" not in compact.content
    assert pretty.json() == compact.json()


def test_pretty_reaches_inside_bundle_entries(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient?_pretty=true")
    assert b'\n        "resourceType": "Patient"' in response.content
