"""The CapabilityStatement declares the export operations (export.html#bulk-data-kick-off-
request) and instantiates the Bulk Data server CapabilityStatement."""

from __future__ import annotations

from tests.bulk.conftest import Http

BULK = "http://hl7.org/fhir/uv/bulkdata"


def test_statement_declares_the_three_export_operations(http: Http) -> None:
    statement = http.request("GET", "/fhir/metadata", None).json()
    assert f"{BULK}/CapabilityStatement/bulk-data" in statement["instantiates"]
    rest = statement["rest"][0]
    assert rest["operation"] == [
        {"name": "export", "definition": f"{BULK}/OperationDefinition/export"}
    ]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert by_type["Patient"]["operation"] == [
        {"name": "export", "definition": f"{BULK}/OperationDefinition/patient-export"}
    ]
    assert by_type["Group"]["operation"] == [
        {"name": "export", "definition": f"{BULK}/OperationDefinition/group-export"}
    ]
    assert "operation" not in by_type["Observation"]
