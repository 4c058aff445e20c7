"""Transaction and batch: POST [base] with a Bundle (R4 http.html#transaction)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import SHARED_DATA
from tests.fhir.conftest import FHIR_JSON, Client, assert_outcome, fhir_json, patient

SMALL_SYNTHEA = (
    SHARED_DATA
    / "synthea"
    / "bulk-data-server"
    / "Fannie_Waelchi_8666cd40-7af9-48c6-a1a6-86a161195542.json"
)


def transaction(*entries: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def put_entry(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}


def test_synthea_transaction_is_stored_and_answered(client: Client) -> None:
    bundle = json.loads(SMALL_SYNTHEA.read_text(encoding="utf-8"))
    response = client.post("/fhir", **fhir_json(bundle))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(bundle["entry"])
    assert {e["response"]["status"][:3] for e in answer["entry"]} <= {"200", "201"}
    location = answer["entry"][0]["response"]["location"]
    read = client.get("/fhir/" + location.split("/_history")[0].split("/fhir/")[-1])
    assert read.status_code == 200
    patients = client.get("/fhir/Patient").json()
    assert patients["total"] == 1


def test_failing_transaction_leaves_nothing(client: Client) -> None:
    bad_reference = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient?identifier=urn:mrn|missing"},
    }
    bundle = transaction(put_entry(patient("a")), put_entry(bad_reference))
    response = client.post("/fhir", **fhir_json(bundle))
    assert 400 <= response.status_code < 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Patient/a").status_code == 404


def test_batch_answers_each_entry(client: Client) -> None:
    bundle = transaction(put_entry(patient("a")), put_entry(patient("b")), kind="batch")
    response = client.post("/fhir/", **fhir_json(bundle))
    assert response.status_code == 200
    assert response.json()["type"] == "batch-response"
    assert client.get("/fhir/Patient/b").status_code == 200


def test_bundle_of_another_type_is_400(client: Client) -> None:
    bundle = transaction(put_entry(patient("a")), kind="collection")
    assert_outcome(client.post("/fhir", **fhir_json(bundle)), 400, "invalid")


def test_non_bundle_is_400(client: Client) -> None:
    assert_outcome(client.post("/fhir", **fhir_json(patient())), 400, "invalid")


def test_transaction_body_must_be_json(client: Client) -> None:
    response = client.post("/fhir", content=b"<Bundle/>", headers={"Content-Type": "text/xml"})
    assert_outcome(response, 415)
    response = client.post("/fhir", content=b"{", headers={"Content-Type": FHIR_JSON})
    assert_outcome(response, 400)
