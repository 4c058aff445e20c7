"""read, vread, create, update, delete over HTTP (R4 http.html#read ... #delete)."""

from __future__ import annotations

from tests.fhir.conftest import (
    FHIR_BASE,
    FHIR_JSON,
    Client,
    assert_outcome,
    fhir_json,
    patient,
    put,
)

# -- read (http.html#read) --------------------------------------------------------------


def test_read_sends_the_stored_resource_with_etag_and_last_modified(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient/p1")
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{FHIR_JSON}; charset=utf-8"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["last-modified"].endswith(" GMT")
    body = response.json()
    assert body["id"] == "p1" and body["name"] == [{"family": "Curie"}]
    assert body["meta"]["versionId"] == "1"


def test_read_of_an_unknown_id_is_404(client: Client) -> None:
    assert_outcome(client.get("/fhir/Patient/nobody"), 404, "not-found")


def test_read_of_an_unknown_type_is_404(client: Client) -> None:
    assert_outcome(client.get("/fhir/Spaceship/1"), 404, "not-supported")


def test_read_of_a_malformed_id_is_400(client: Client) -> None:
    assert_outcome(client.get("/fhir/Patient/bad_id!"), 400, "invalid")
    assert_outcome(client.get(f"/fhir/Patient/{'a' * 65}"), 400, "invalid")


def test_read_of_a_deleted_resource_is_410(client: Client) -> None:
    put(client, patient())
    client.delete("/fhir/Patient/p1")
    assert_outcome(client.get("/fhir/Patient/p1"), 410, "deleted")


def test_if_none_match_with_the_current_etag_is_304(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient/p1", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == 'W/"1"'


def test_if_none_match_with_an_older_etag_sends_the_resource(client: Client) -> None:
    put(client, patient())
    put(client, patient(family="Sklodowska"))
    response = client.get("/fhir/Patient/p1", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 200
    assert response.json()["name"][0]["family"] == "Sklodowska"


def test_head_answers_like_get_without_a_body(client: Client) -> None:
    put(client, patient())
    response = client.request("HEAD", "/fhir/Patient/p1")
    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"1"'


# -- vread (http.html#vread) ------------------------------------------------------------


def test_vread_gives_each_version(client: Client) -> None:
    put(client, patient())
    put(client, patient(family="Sklodowska"))
    first = client.get("/fhir/Patient/p1/_history/1")
    second = client.get("/fhir/Patient/p1/_history/2")
    assert first.json()["name"][0]["family"] == "Curie"
    assert first.headers["etag"] == 'W/"1"'
    assert second.json()["name"][0]["family"] == "Sklodowska"


def test_vread_if_none_match_is_304(client: Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient/p1/_history/1", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304


def test_vread_of_an_unknown_version_is_404(client: Client) -> None:
    put(client, patient())
    assert_outcome(client.get("/fhir/Patient/p1/_history/7"), 404, "not-found")
    assert_outcome(client.get("/fhir/Patient/p1/_history/abc"), 404, "not-found")


def test_vread_of_a_malformed_version_is_400(client: Client) -> None:
    put(client, patient())
    assert_outcome(client.get("/fhir/Patient/p1/_history/a_b"), 400, "invalid")


def test_vread_of_the_deleting_version_is_410(client: Client) -> None:
    put(client, patient())
    client.delete("/fhir/Patient/p1")
    assert_outcome(client.get("/fhir/Patient/p1/_history/2"), 410, "deleted")
    assert client.get("/fhir/Patient/p1/_history/1").status_code == 200


# -- create (http.html#create) ----------------------------------------------------------


def test_create_assigns_an_id_and_answers_201_with_location(client: Client) -> None:
    response = client.post("/fhir/Patient", **fhir_json(patient(id="ignored")))
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "ignored"
    location = f"{FHIR_BASE}/Patient/{body['id']}/_history/1"
    assert response.headers["location"] == location
    assert response.headers["etag"] == 'W/"1"'
    assert client.get(f"/fhir/Patient/{body['id']}").status_code == 200


def test_create_with_prefer_minimal_has_no_body(client: Client) -> None:
    headers = {"Content-Type": FHIR_JSON, "Prefer": "return=minimal"}
    response = client.post("/fhir/Patient", json=patient(), headers=headers)
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["location"].startswith(f"{FHIR_BASE}/Patient/")


def test_create_with_prefer_operation_outcome_answers_one(client: Client) -> None:
    headers = {"Content-Type": FHIR_JSON, "Prefer": "return=OperationOutcome"}
    response = client.post("/fhir/Patient", json=patient(), headers=headers)
    assert response.status_code == 201
    assert response.json()["resourceType"] == "OperationOutcome"


def test_create_of_another_type_than_the_url_is_400(client: Client) -> None:
    response = client.post("/fhir/Observation", **fhir_json(patient()))
    assert_outcome(response, 400, "invalid")


def test_conditional_create_returns_the_existing_match(client: Client) -> None:
    """If-None-Exist (http.html#ccreate): one match is answered with 200, no new resource."""
    identified = patient(identifier=[{"system": "urn:mrn", "value": "42"}])
    put(client, identified)
    headers = {"Content-Type": FHIR_JSON, "If-None-Exist": "identifier=urn:mrn|42"}
    response = client.post("/fhir/Patient", json=patient(id="x"), headers=headers)
    assert response.status_code == 200
    assert response.json()["id"] == "p1"
    unmatched = {"Content-Type": FHIR_JSON, "If-None-Exist": "identifier=urn:mrn|43"}
    assert client.post("/fhir/Patient", json=patient(), headers=unmatched).status_code == 201


def test_conditional_create_with_several_matches_is_412(client: Client) -> None:
    for id in ("a", "b"):
        put(client, patient(id=id, identifier=[{"system": "urn:mrn", "value": "42"}]))
    headers = {"Content-Type": FHIR_JSON, "If-None-Exist": "identifier=urn:mrn|42"}
    response = client.post("/fhir/Patient", json=patient(), headers=headers)
    assert_outcome(response, 412, "conflict")


# -- update (http.html#update) ----------------------------------------------------------


def test_update_creates_then_updates(client: Client) -> None:
    created = put(client, patient())
    assert created.status_code == 201
    assert created.headers["location"] == f"{FHIR_BASE}/Patient/p1/_history/1"
    updated = put(client, patient(family="Sklodowska"))
    assert updated.status_code == 200
    assert updated.headers["etag"] == 'W/"2"'
    assert updated.json()["meta"]["versionId"] == "2"


def test_update_after_delete_creates_again(client: Client) -> None:
    put(client, patient())
    client.delete("/fhir/Patient/p1")
    response = put(client, patient())
    assert response.status_code == 201
    assert response.headers["etag"] == 'W/"3"'


def test_update_with_another_id_in_the_body_is_400(client: Client) -> None:
    response = client.put("/fhir/Patient/p2", **fhir_json(patient(id="p1")))
    assert_outcome(response, 400, "invalid")


def test_update_without_an_id_in_the_body_is_400(client: Client) -> None:
    body = {"resourceType": "Patient"}
    assert_outcome(client.put("/fhir/Patient/p1", **fhir_json(body)), 400, "invalid")


def test_update_if_match_current_version_succeeds(client: Client) -> None:
    put(client, patient())
    response = put(client, patient(family="B"), **{"If-Match": 'W/"1"'})
    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"2"'


def test_update_if_match_stale_version_is_412_and_changes_nothing(client: Client) -> None:
    """http.html#concurrency: a mismatched If-Match is 412 Precondition Failed."""
    put(client, patient())
    put(client, patient(family="B"))
    response = put(client, patient(family="C"), **{"If-Match": 'W/"1"'})
    assert_outcome(response, 412, "conflict")
    assert client.get("/fhir/Patient/p1").json()["name"][0]["family"] == "B"


def test_update_if_match_malformed_is_400(client: Client) -> None:
    put(client, patient())
    assert_outcome(put(client, patient(), **{"If-Match": "yesterday"}), 400, "invalid")


def test_update_of_an_unknown_type_is_404(client: Client) -> None:
    body = {"resourceType": "Spaceship", "id": "1"}
    assert_outcome(client.put("/fhir/Spaceship/1", **fhir_json(body)), 404)


# -- delete (http.html#delete) ----------------------------------------------------------


def test_delete_answers_200_with_an_outcome_and_twice_is_fine(client: Client) -> None:
    put(client, patient())
    first = client.delete("/fhir/Patient/p1")
    assert first.status_code == 200
    assert first.headers["etag"] == 'W/"2"'
    assert first.json()["resourceType"] == "OperationOutcome"
    second = client.delete("/fhir/Patient/p1")
    assert second.status_code == 200
    assert second.json()["issue"][0]["severity"] == "information"


def test_delete_of_an_unknown_id_is_200(client: Client) -> None:
    assert client.delete("/fhir/Patient/never").status_code == 200


def test_delete_with_a_malformed_id_is_400(client: Client) -> None:
    assert_outcome(client.delete("/fhir/Patient/no$pe"), 400, "invalid")


def test_version_flow_create_update_delete_recreate(client: Client) -> None:
    created = client.post("/fhir/Patient", **fhir_json(patient()))
    id = created.json()["id"]
    resource = created.json()
    resource["gender"] = "female"
    assert client.put(f"/fhir/Patient/{id}", **fhir_json(resource)).status_code == 200
    assert client.delete(f"/fhir/Patient/{id}").status_code == 200
    assert client.get(f"/fhir/Patient/{id}").status_code == 410
    assert client.get(f"/fhir/Patient/{id}/_history/2").json()["gender"] == "female"
    history = client.get(f"/fhir/Patient/{id}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PUT", "POST"]
