"""The CapabilityStatement says only what is true (R4 http.html#capabilities)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from isocenter.search.definitions import load_registry
from tests.fhir.conftest import FHIR_BASE, Client, assert_outcome

# A well-formed value for each kind of search parameter (search.html#ptypes).
SAMPLE_VALUES = {
    "token": "http://example.org|x",
    "string": "x",
    "date": "ge2020-01-01",
    "reference": "x",
    "quantity": "5",
    "number": "5",
    "uri": "http://example.org/x",
}


@pytest.fixture
def statement(client: Client) -> dict[str, Any]:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def resources(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {resource["type"]: resource for resource in statement["rest"][0]["resource"]}


def test_statement_header_facts(statement: dict[str, Any]) -> None:
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["status"] == "active"
    assert statement["kind"] == "instance"
    assert statement["fhirVersion"] == "4.0.1"
    assert "json" in statement["format"] and "application/fhir+json" in statement["format"]
    assert statement["implementation"]["url"] == FHIR_BASE
    assert statement["instantiates"] == [
        "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server",
        "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data",
    ]
    assert statement["rest"][0]["mode"] == "server"


def test_system_interactions_are_transaction_batch_and_history(
    statement: dict[str, Any],
) -> None:
    codes = {i["code"] for i in statement["rest"][0]["interaction"]}
    assert codes == {"transaction", "batch", "history-system"}


def test_every_registry_type_is_listed_with_every_interaction(
    statement: dict[str, Any],
) -> None:
    listed = resources(statement)
    assert set(listed) == set(load_registry().resource_types())
    for resource in listed.values():
        codes = {i["code"] for i in resource["interaction"]}
        assert codes == {
            "read", "vread", "update", "delete", "history-instance", "history-type",
            "create", "search-type",
        }  # fmt: skip
        assert resource["versioning"] == "versioned"
        assert resource["readHistory"] is True and resource["updateCreate"] is True
        assert resource["conditionalCreate"] is True


def test_us_core_profiles_are_supported_profiles(statement: dict[str, Any]) -> None:
    listed = resources(statement)
    assert listed["Patient"]["supportedProfile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
    ]
    observation = listed["Observation"]["supportedProfile"]
    smoking = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus"
    assert smoking in observation
    assert "supportedProfile" not in listed["Basic"]


def test_only_supported_search_parameters_are_listed(statement: dict[str, Any]) -> None:
    registry = load_registry()
    for name, resource in resources(statement).items():
        for listed in resource.get("searchParam", []):
            parameter = registry.get(name, listed["name"])
            assert parameter is not None and parameter.supported, (name, listed)
            assert listed["type"] == parameter.type
            assert listed["definition"] == parameter.url
    patient = {p["name"] for p in resources(statement)["Patient"]["searchParam"]}
    assert {"_id", "identifier", "name", "birthdate", "gender", "race"} <= patient


def test_every_listed_type_answers_a_search(client: Client, statement: dict[str, Any]) -> None:
    for name in resources(statement):
        response = client.get(f"/fhir/{name}")
        assert response.status_code == 200, (name, response.text)


def test_every_listed_search_parameter_answers_200(
    client: Client, statement: dict[str, Any]
) -> None:
    started = time.perf_counter()
    for name, resource in resources(statement).items():
        for listed in resource.get("searchParam", []):
            value = SAMPLE_VALUES.get(listed["type"], "x")
            if listed["name"] == "_lastUpdated":
                value = SAMPLE_VALUES["date"]
            response = client.get(f"/fhir/{name}", params={listed["name"]: value})
            assert response.status_code == 200, (name, listed, response.text)
    assert time.perf_counter() - started < 120


def test_listed_includes_and_revincludes_answer_200(
    client: Client, statement: dict[str, Any]
) -> None:
    listed = resources(statement)
    request = listed["MedicationRequest"]
    assert "MedicationRequest:medication" in request["searchInclude"]
    assert "Provenance:target" in listed["Patient"]["searchRevInclude"]
    for include in request["searchInclude"]:
        response = client.get("/fhir/MedicationRequest", params={"_include": include})
        assert response.status_code == 200, (include, response.text)
    for revinclude in listed["Patient"]["searchRevInclude"]:
        response = client.get("/fhir/Patient", params={"_revinclude": revinclude})
        assert response.status_code == 200, (revinclude, response.text)


def test_mode_full_is_the_same_statement(client: Client, statement: dict[str, Any]) -> None:
    full = client.get("/fhir/metadata?mode=full").json()
    assert full["rest"] == statement["rest"]


def test_mode_terminology_is_not_supported(client: Client) -> None:
    assert_outcome(client.get("/fhir/metadata?mode=terminology"), 400, "not-supported")
