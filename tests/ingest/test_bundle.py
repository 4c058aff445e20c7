"""Transaction, batch and collection Bundles (R4 http.html#transaction, bundle.html)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import Engine

from isocenter.ingest.bundle import load_bundle, process_bundle
from isocenter.outcomes import OperationOutcomeError
from isocenter.store.repository import Store
from tests.ingest.conftest import BASE, IdentifierMatcher, table_counts

NPI = "http://hl7.org/fhir/sid/us-npi"


def transaction(*entries: dict[str, Any], type: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": type, "entry": list(entries)}


def post(resource: dict[str, Any], full_url: str | None = None, **request: Any) -> dict:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def put(resource: dict[str, Any], url: str | None = None, **request: Any) -> dict:
    url = url or f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url, **request}}


def patient(id: str = "p1", npi: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": id, "gender": "female"}
    if npi:
        resource["identifier"] = [{"system": NPI, "value": npi}]
    return resource


def practitioner(id: str, npi: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": id,
        "identifier": [{"system": NPI, "value": npi}],
    }


def run(store: Store, bundle: dict[str, Any], **options: Any) -> dict[str, Any]:
    return process_bundle(store, IdentifierMatcher(), bundle, fhir_base_url=BASE, **options)


def id_of(location: str) -> str:
    return location.split("/")[1]


# --- urn:uuid fullUrls (bundle.html#references) ---------------------------------------


def test_urn_uuid_references_are_rewritten_at_every_depth(store: Store) -> None:
    subject = "urn:uuid:8c9c2d4e-0000-4000-8000-000000000001"
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": subject},
        "performer": [{"reference": subject}],
        "extension": [{"url": "http://e", "valueReference": {"reference": subject}}],
        "component": [
            {
                "code": {"text": "c"},
                "extension": [
                    {
                        "url": "http://e",
                        "extension": [{"url": "n", "valueReference": {"reference": subject}}],
                    }
                ],
            }
        ],
        "contained": [
            {
                "resourceType": "Provenance",
                "id": "prov",
                "recorded": "2020-01-01T00:00:00Z",
                "target": [{"reference": subject}],
                "agent": [{"who": {"reference": subject}}],
            }
        ],
    }
    response = run(store, transaction(post(observation), post(patient(), subject)))

    patient_id = id_of(response["entry"][1]["response"]["location"])
    stored = store.read("Observation", id_of(response["entry"][0]["response"]["location"]))
    assert stored is not None
    content = stored.parsed()
    expected = f"Patient/{patient_id}"
    assert content["subject"]["reference"] == expected
    assert content["performer"][0]["reference"] == expected
    assert content["extension"][0]["valueReference"]["reference"] == expected
    nested = content["component"][0]["extension"][0]["extension"][0]
    assert nested["valueReference"]["reference"] == expected
    assert content["contained"][0]["target"][0]["reference"] == expected
    assert content["contained"][0]["agent"][0]["who"]["reference"] == expected
    assert subject not in (stored.content or "")


def test_post_assigns_server_ids_over_http_but_the_loader_keeps_given_ids(
    store: Store,
) -> None:
    over_http = run(store, transaction(post(patient("given-1"))))
    loaded = run(store, transaction(post(patient("given-2"))), keep_ids=True)

    assert id_of(over_http["entry"][0]["response"]["location"]) != "given-1"
    assert store.read("Patient", "given-1") is None
    assert loaded["entry"][0]["response"]["location"] == "Patient/given-2/_history/1"


def test_urn_oid_full_urls_are_rewritten_too(store: Store) -> None:
    oid = "urn:oid:1.2.3.4"
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": oid},
    }
    response = run(store, transaction(post(condition), post(patient(), oid)), keep_ids=True)

    stored = store.read("Condition", id_of(response["entry"][0]["response"]["location"]))
    assert stored is not None
    assert stored.parsed()["subject"]["reference"] == "Patient/p1"


def test_a_urn_reference_to_no_entry_fails_the_transaction(store: Store) -> None:
    condition = {"resourceType": "Condition", "subject": {"reference": "urn:uuid:nowhere"}}
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, transaction(post(patient()), post(condition)))

    assert raised.value.status == 400
    assert raised.value.diagnostics.startswith("Bundle.entry[1]: ")
    assert "urn:uuid:nowhere" in raised.value.diagnostics


# --- responses and processing order (http.html#transaction-response) -----------------


def test_transaction_response_has_status_location_etag_and_last_modified(
    store: Store,
) -> None:
    response = run(store, transaction(put(patient("p1"))), keep_ids=True)
    again = run(store, transaction(put(patient("p1"))))

    assert response["type"] == "transaction-response"
    first = response["entry"][0]["response"]
    assert first["status"] == "201 Created"
    assert first["location"] == "Patient/p1/_history/1"
    assert first["etag"] == 'W/"1"'
    assert first["lastModified"].endswith("Z")
    assert again["entry"][0]["response"]["status"] == "200 OK"
    assert again["entry"][0]["response"]["etag"] == 'W/"2"'


def test_delete_runs_before_post_and_responses_keep_request_order(store: Store) -> None:
    run(store, transaction(put(patient("old"))))
    bundle = transaction(
        post(patient("new")),
        {"request": {"method": "DELETE", "url": "Patient/old"}},
        {"request": {"method": "DELETE", "url": "Patient/never"}},
    )
    response = run(store, bundle, keep_ids=True)

    statuses = [entry["response"]["status"] for entry in response["entry"]]
    assert statuses == ["201 Created", "200 OK", "204 No Content"]
    old = store.read("Patient", "old")
    assert old is not None and old.deleted


def test_a_resource_touched_twice_in_one_transaction_fails_it(store: Store) -> None:
    bundle = transaction(
        put(patient("p1")), {"request": {"method": "DELETE", "url": "Patient/p1"}}
    )
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, bundle)
    assert raised.value.status == 400
    assert "Bundle.entry[0]" in raised.value.diagnostics


# --- updates, If-Match, conditional create and update ---------------------------------


def test_if_match_on_the_wrong_version_is_412_and_writes_nothing(
    store: Store, engine: Engine
) -> None:
    run(store, transaction(put(patient("p1"))))
    before = table_counts(engine)
    bundle = transaction(put(patient("p2")), put(patient("p1"), ifMatch='W/"7"'))
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, bundle)

    assert raised.value.status == 412
    assert raised.value.diagnostics.startswith("Bundle.entry[1]: ")
    assert table_counts(engine) == before


def test_if_match_on_the_current_version_updates(store: Store) -> None:
    run(store, transaction(put(patient("p1"))))
    response = run(store, transaction(put(patient("p1"), ifMatch='W/"1"')))
    assert response["entry"][0]["response"]["location"] == "Patient/p1/_history/2"


def test_if_none_exist_with_one_match_creates_nothing_and_answers_with_the_match(
    store: Store,
) -> None:
    run(store, transaction(put(patient("p1", npi="1"))))
    query = f"identifier={NPI}|1"
    response = run(store, transaction(post(patient("p9", npi="1"), ifNoneExist=query)))

    assert response["entry"][0]["response"]["status"] == "200 OK"
    assert response["entry"][0]["response"]["location"] == "Patient/p1/_history/1"
    assert store.count_history("Patient") == 1


def test_if_none_exist_with_no_match_creates(store: Store) -> None:
    query = f"identifier={NPI}|2"
    response = run(store, transaction(post(patient("p1", npi="2"), ifNoneExist=query)))
    assert response["entry"][0]["response"]["status"] == "201 Created"


def test_if_none_exist_with_several_matches_is_412(store: Store) -> None:
    run(store, transaction(put(patient("a", npi="3")), put(patient("b", npi="3"))))
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, transaction(post(patient("c", npi="3"), ifNoneExist=f"identifier={NPI}|3")))
    assert raised.value.status == 412


def test_conditional_update_updates_the_one_match_or_creates(store: Store) -> None:
    run(store, transaction(put(patient("p1", npi="4"))))
    change = patient("p1", npi="4") | {"gender": "male"}
    del change["id"]
    updated = run(store, transaction(put(change, f"Patient?identifier={NPI}|4")))
    created = run(
        store, transaction(put(patient("x", npi="5") | {}, f"Patient?identifier={NPI}|5"))
    )

    assert updated["entry"][0]["response"]["location"] == "Patient/p1/_history/2"
    assert created["entry"][0]["response"]["location"] == "Patient/x/_history/1"


# --- conditional references (http.html#trules) -----------------------------------------


def encounter(practitioner_reference: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "participant": [{"individual": {"reference": practitioner_reference}}],
    }


def test_conditional_reference_resolves_to_an_entry_of_the_same_bundle(store: Store) -> None:
    bundle = transaction(
        post(encounter(f"Practitioner?identifier={NPI}|77")),
        post(practitioner("dr", "77")),
    )
    response = run(store, bundle, keep_ids=True)

    stored = store.read("Encounter", id_of(response["entry"][0]["response"]["location"]))
    assert stored is not None
    assert stored.parsed()["participant"][0]["individual"]["reference"] == "Practitioner/dr"


def test_conditional_reference_resolves_against_the_store(store: Store) -> None:
    run(store, transaction(put(practitioner("dr", "78"))))
    response = run(store, transaction(post(encounter(f"Practitioner?identifier={NPI}|78"))))

    stored = store.read("Encounter", id_of(response["entry"][0]["response"]["location"]))
    assert stored is not None
    assert stored.parsed()["participant"][0]["individual"]["reference"] == "Practitioner/dr"


def test_a_conditional_reference_matching_nothing_is_404_naming_entry_and_reference(
    store: Store, engine: Engine
) -> None:
    before = table_counts(engine)
    reference = f"Practitioner?identifier={NPI}|404"
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, transaction(post(patient()), post(encounter(reference))))

    assert raised.value.status == 404
    assert raised.value.diagnostics.startswith("Bundle.entry[1]: ")
    assert reference in raised.value.diagnostics
    assert table_counts(engine) == before


def test_an_ambiguous_conditional_reference_is_412(store: Store, engine: Engine) -> None:
    run(store, transaction(put(practitioner("a", "79")), put(practitioner("b", "79"))))
    before = table_counts(engine)
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, transaction(post(encounter(f"Practitioner?identifier={NPI}|79"))))

    assert raised.value.status == 412
    assert raised.value.code == "multiple-matches"
    assert "Bundle.entry[0]" in raised.value.diagnostics
    assert table_counts(engine) == before


# --- all or nothing: one bad entry leaves the store as it was ---------------------------

BAD_ENTRIES: dict[str, dict[str, Any]] = {
    "id not a string": post({"resourceType": "Patient", "id": 12}),
    "invalid id": put({"resourceType": "Patient", "id": "a b"}, "Patient/a%20b"),
    "meta not an object": post({"resourceType": "Patient", "meta": "v1"}),
    "reference not a string": post(
        {"resourceType": "Condition", "subject": {"reference": {"id": "p1"}}}
    ),
    "array element given as an object": post(
        {"resourceType": "Patient", "name": {"family": "X"}}
    ),
    "resourceType not a string": {
        "resource": {"resourceType": ["Patient"]},
        "request": {"method": "POST", "url": "Patient"},
    },
    "no resourceType": {
        "resource": {"id": "x"},
        "request": {"method": "POST", "url": "Patient"},
    },
    "unknown resource type": {
        "resource": {"resourceType": "Spaceship"},
        "request": {"method": "POST", "url": "Spaceship"},
    },
    "unknown element": post({"resourceType": "Patient", "colour": "blue"}),
    "type differs from url": {
        "resource": {"resourceType": "Patient"},
        "request": {"method": "POST", "url": "Observation"},
    },
    "url id differs from resource id": put(patient("p2"), "Patient/p3"),
    "no request": {"resource": patient("p4")},
    "unsupported method": {
        "resource": patient("p5"),
        "request": {"method": "PATCH", "url": "Patient/p5"},
    },
    "unknown urn reference": post(
        {"resourceType": "Condition", "subject": {"reference": "urn:uuid:missing"}}
    ),
    "missing conditional reference": post(encounter(f"Practitioner?identifier={NPI}|none")),
    "stale If-Match": put(patient("p1"), ifMatch='W/"9"'),
    "GET search": {"request": {"method": "GET", "url": "Patient?name=x"}},
    "not an object": "entry",
}


@pytest.mark.parametrize("kind", BAD_ENTRIES)
def test_one_bad_entry_leaves_every_table_unchanged(
    kind: str, indexed_store: Store, engine: Engine
) -> None:
    store = indexed_store
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2020-01-01",
    }
    run(store, transaction(put(patient("p1")), put(observation)))
    before = table_counts(engine)
    assert before["search_token"] and before["search_reference"] and before["compartment"]
    good = transaction(
        post(patient("q1")), put(patient("q2")), copy.deepcopy(BAD_ENTRIES[kind])
    )

    with pytest.raises(OperationOutcomeError) as raised:
        run(store, good, keep_ids=True)

    assert raised.value.status in (400, 404, 409, 412, 422)
    assert raised.value.diagnostics.startswith("Bundle.entry[2]: ")
    assert raised.value.expression == ["Bundle.entry[2]"]
    assert table_counts(engine) == before


# --- batch (http.html#transaction: each entry on its own) --------------------------------


def test_batch_keeps_the_good_entries_and_reports_the_bad_one(store: Store) -> None:
    bundle = transaction(
        post(patient("b1")),
        post({"resourceType": "Patient", "id": 5}),
        put(patient("b3")),
        {"request": {"method": "GET", "url": "Patient/b3"}},
        {"request": {"method": "GET", "url": "Patient?gender=female"}},
        type="batch",
    )
    response = run(store, bundle, keep_ids=True)

    assert response["type"] == "batch-response"
    statuses = [entry["response"]["status"] for entry in response["entry"]]
    assert statuses == [
        "201 Created",
        "400 Bad Request",
        "201 Created",
        "200 OK",
        "400 Bad Request",
    ]
    outcome = response["entry"][1]["response"]["outcome"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Bundle.entry[1]" in outcome["issue"][0]["diagnostics"]
    assert response["entry"][4]["response"]["outcome"]["issue"][0]["code"] == "not-supported"
    assert response["entry"][3]["resource"]["id"] == "b3"
    assert store.read("Patient", "b1") is not None


def test_a_failing_batch_entry_leaves_nothing_of_itself(store: Store, engine: Engine) -> None:
    before = table_counts(engine)
    bundle = transaction(post(encounter(f"Practitioner?identifier={NPI}|none")), type="batch")
    response = run(store, bundle)

    assert response["entry"][0]["response"]["status"] == "404 Not Found"
    assert table_counts(engine) == before


def test_other_bundle_types_are_not_processed_over_http(store: Store) -> None:
    with pytest.raises(OperationOutcomeError) as raised:
        run(store, transaction(post(patient()), type="collection"))
    assert raised.value.status == 400


# --- collections and other Bundles given to the loader ---------------------------------


def test_collection_entries_are_stored_under_their_ids(store: Store) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://elsewhere/Patient/c1", "resource": patient("c1")},
            {
                "fullUrl": "urn:uuid:e1",
                "resource": encounter(f"Practitioner?identifier={NPI}|80"),
            },
            {"resource": practitioner("dr80", "80")},
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:e1"},
                }
            },
        ],
    }
    result = load_bundle(store, IdentifierMatcher(), bundle, fhir_base_url=BASE)

    assert sorted(version.resource_type for version in result.written) == [
        "Condition",
        "Encounter",
        "Patient",
        "Practitioner",
    ]
    stored = {version.resource_type: version for version in result.written}
    assert stored["Patient"].id == "c1"
    condition = stored["Condition"].parsed()
    assert condition["subject"]["reference"] == f"Encounter/{stored['Encounter'].id}"
    assert stored["Encounter"].parsed()["participant"][0]["individual"] == {
        "reference": "Practitioner/dr80"
    }


def test_searchset_outcome_entries_are_skipped_and_nested_bundles_stored(store: Store) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {"resourceType": "OperationOutcome", "id": "oo", "issue": []},
                "search": {"mode": "outcome"},
            },
            {"resource": patient("s1"), "search": {"mode": "match"}},
            {"resource": {"resourceType": "Bundle", "id": "inner", "type": "collection"}},
        ],
    }
    result = load_bundle(store, IdentifierMatcher(), bundle, fhir_base_url=BASE)

    assert [(v.resource_type, v.id) for v in result.written] == [
        ("Patient", "s1"),
        ("Bundle", "inner"),
    ]


def test_a_bad_collection_entry_is_named_by_its_index_in_the_file(store: Store) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {"resourceType": "OperationOutcome", "issue": []},
                "search": {"mode": "outcome"},
            },
            {"resource": {"resourceType": "Patient", "id": "ok"}},
            {"resource": {"resourceType": "Patient", "id": "bad", "active": "yes"}},
        ],
    }
    with pytest.raises(OperationOutcomeError) as raised:
        load_bundle(store, IdentifierMatcher(), bundle, fhir_base_url=BASE)
    assert raised.value.diagnostics.startswith("Bundle.entry[2]: ")
    assert "active" in raised.value.diagnostics
    assert store.read("Patient", "ok") is None
