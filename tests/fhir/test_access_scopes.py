"""Scopes on every FHIR interaction (SMART App Launch 2.x, scopes-and-launch-context.html):
the v2 letter each interaction needs, 403 for a type outside the scopes, Bundle entries
checked one by one, and a patient-limited access seeing its compartment and the shared
resources it refers to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from isocenter.access import FULL_ACCESS
from isocenter.fhir.access_control import access_of
from isocenter.outcomes import OperationOutcomeError
from tests.fhir.access_harness import Api, ids, is_forbidden, serve


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    yield from serve(engine)


# Interactions by the letter they need.


@pytest.mark.parametrize(
    ("path", "letter"),
    [
        ("/fhir/Patient/p1", "r"),
        ("/fhir/Patient/p1/_history/1", "r"),
        ("/fhir/Patient/p1/_history", "r"),
        ("/fhir/Patient?name=One", "s"),
        ("/fhir/Patient/_history", "s"),
        ("/fhir/_history", "s"),
    ],
)
def test_each_read_interaction_needs_its_letter(api: Api, path: str, letter: str) -> None:
    other = "s" if letter == "r" else "r"

    assert api.get(path, f"user/Patient.{letter}").status_code == 200
    assert is_forbidden(api.get(path, f"user/Patient.{other}"))


def test_v1_read_scopes_grant_read_and_search(api: Api) -> None:
    assert api.get("/fhir/Patient/p1", "user/Patient.read").status_code == 200
    assert api.get("/fhir/Patient?name=One", "user/Patient.read").status_code == 200


def test_a_type_outside_the_scopes_is_403_never_an_empty_bundle(api: Api) -> None:
    response = api.get("/fhir/Condition?patient=p1", "user/Patient.rs user/Observation.rs")

    assert is_forbidden(response)
    assert "Condition" in response.json()["issue"][0]["diagnostics"]


def test_create_needs_c(api: Api) -> None:
    body = {"resourceType": "Patient", "name": [{"family": "New"}]}

    assert api.request("POST", "/fhir/Patient", "user/Patient.c", json=body).status_code == 201
    assert is_forbidden(api.request("POST", "/fhir/Patient", "user/Patient.rus", json=body))


def test_update_and_update_as_create_need_u(api: Api) -> None:
    body = {"resourceType": "Patient", "id": "p9"}

    assert (
        api.request("PUT", "/fhir/Patient/p9", "user/Patient.u", json=body).status_code == 201
    )
    assert is_forbidden(api.request("PUT", "/fhir/Patient/p9", "user/Patient.crs", json=body))


def test_delete_needs_d(api: Api) -> None:
    assert is_forbidden(api.request("DELETE", "/fhir/Patient/p2", "user/Patient.cru"))
    assert api.request("DELETE", "/fhir/Patient/p2", "user/Patient.d").status_code == 200


def test_patient_limited_access_never_writes(api: Api) -> None:
    body = {"resourceType": "Patient", "id": "p1"}
    response = api.request("PUT", "/fhir/Patient/p1", "patient/*.cruds", "p1", json=body)

    assert is_forbidden(response)
    assert "patient-limited" in response.json()["issue"][0]["diagnostics"]


def test_the_matched_resource_of_a_conditional_create_needs_read(api: Api) -> None:
    body = {"resourceType": "Patient"}
    headers = {"If-None-Exist": "name=One"}
    blind = api.request("POST", "/fhir/Patient", "user/Patient.c", json=body, headers=headers)
    seeing = api.request("POST", "/fhir/Patient", "user/Patient.cr", json=body, headers=headers)

    assert blind.status_code == seeing.status_code == 200
    assert blind.content == b""
    assert seeing.json()["id"] == "p1"


# System history keeps the types the scopes allow.


def test_system_history_holds_only_the_allowed_types(api: Api) -> None:
    response = api.get("/fhir/_history", "user/Patient.rs user/Condition.r")

    assert ids(response) == ["Patient/p1", "Patient/p2"]
    assert response.json()["total"] == 2


def test_type_history_of_a_patient_limited_access_is_its_compartment(api: Api) -> None:
    response = api.get("/fhir/Observation/_history", "patient/*.rs", "p1")

    assert ids(response) == ["Observation/lab1", "Observation/survey1", "Observation/vital1"]


# Patient-limited access: compartment plus shared resources.


def test_a_patient_limited_read_outside_the_compartment_is_404(api: Api) -> None:
    assert api.get("/fhir/Patient/p2", "patient/*.rs", "p1").status_code == 404
    assert api.get("/fhir/Observation/lab2", "patient/*.rs", "p1").status_code == 404
    assert api.get("/fhir/Observation/lab2/_history/1", "patient/*.rs", "p1").status_code == 404


def test_a_shared_resource_the_compartment_refers_to_is_readable_and_found(api: Api) -> None:
    assert api.get("/fhir/Practitioner/dr", "patient/*.rs", "p1").status_code == 200
    found = api.get("/fhir/Practitioner?name=Doctor", "patient/*.rs", "p1")
    assert ids(found) == ["Practitioner/dr"]


def test_a_shared_resource_no_compartment_resource_refers_to_is_hidden(api: Api) -> None:
    put = api.request(
        "PUT",
        "/fhir/Practitioner/other",
        "user/*.cruds",
        json={"resourceType": "Practitioner", "id": "other"},
    )
    assert put.status_code == 201

    assert api.get("/fhir/Practitioner/other", "patient/*.rs", "p1").status_code == 404
    assert ids(api.get("/fhir/Practitioner", "patient/*.rs", "p1")) == ["Practitioner/dr"]


def test_a_deleted_resource_of_the_compartment_is_410_and_of_another_404(api: Api) -> None:
    assert api.request("DELETE", "/fhir/Observation/lab1", "user/*.cruds").status_code == 200
    assert api.request("DELETE", "/fhir/Observation/lab2", "user/*.cruds").status_code == 200

    assert api.get("/fhir/Observation/lab1", "patient/*.rs", "p1").status_code == 410
    assert api.get("/fhir/Observation/lab2", "patient/*.rs", "p1").status_code == 404


# Chains, _has and includes reach only what the scopes let the access search or read.


def test_a_chain_into_a_type_outside_the_scopes_is_403(api: Api) -> None:
    response = api.get("/fhir/Observation?subject:Patient.name=One", "user/Observation.rs")

    assert is_forbidden(response)


def test_has_from_a_type_outside_the_scopes_is_403(api: Api) -> None:
    response = api.get("/fhir/Patient?_has:Condition:subject:code:text=x", "user/Patient.rs")

    assert is_forbidden(response)


def test_a_chain_into_an_allowed_type_works(api: Api) -> None:
    scope = "user/Observation.rs user/Patient.rs"
    response = api.get("/fhir/Observation?subject:Patient.name=Two", scope)

    assert ids(response) == ["Observation/lab2"]


def test_includes_of_types_outside_the_scopes_are_dropped(api: Api) -> None:
    query = (
        "/fhir/Observation?_id=lab1&_include=Observation:subject&_include=Observation:performer"
    )
    limited = api.get(query, "user/Observation.rs user/Practitioner.r")
    full = api.get(query, "user/*.rs")

    assert ids(limited, "include") == ["Practitioner/dr"]
    assert ids(full, "include") == ["Patient/p1", "Practitioner/dr"]


# Transaction and batch: each entry its own check.


def _bundle(kind: str, *requests: tuple[str, str]) -> dict[str, object]:
    entries = []
    for method, url in requests:
        entry: dict[str, object] = {"request": {"method": method, "url": url}}
        if method == "PUT":
            entry["resource"] = {"resourceType": url.split("/")[0], "id": url.split("/")[1]}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def test_batch_entries_outside_the_scopes_answer_403_and_the_others_run(api: Api) -> None:
    bundle = _bundle(
        "batch",
        ("GET", "Condition/c1"),
        ("GET", "Patient/p1"),
        ("PUT", "Patient/p5"),
        ("PUT", "Condition/c5"),
    )
    response = api.request("POST", "/fhir", "user/Patient.rus", json=bundle)

    statuses = [entry["response"]["status"] for entry in response.json()["entry"]]
    assert [status.split()[0] for status in statuses] == ["403", "200", "201", "403"]
    assert api.get("/fhir/Patient/p5", "user/Patient.r").status_code == 200
    assert api.get("/fhir/Condition/c5", "user/Condition.r").status_code == 404


def test_a_transaction_with_one_entry_outside_the_scopes_is_refused_whole(api: Api) -> None:
    bundle = _bundle("transaction", ("PUT", "Patient/p6"), ("PUT", "Condition/c6"))
    response = api.request("POST", "/fhir", "user/Patient.rus", json=bundle)

    assert is_forbidden(response)
    assert "Bundle.entry[1]" in response.json()["issue"][0]["diagnostics"]
    assert api.get("/fhir/Patient/p6", "user/Patient.r").status_code == 404


def test_a_batch_reading_another_compartment_answers_404_entries(api: Api) -> None:
    bundle = _bundle("batch", ("GET", "Observation/lab2"), ("GET", "Observation/lab1"))
    response = api.request("POST", "/fhir", "patient/*.rs", "p1", json=bundle)

    entries = response.json()["entry"]
    assert entries[0]["response"]["status"].startswith("404") and "resource" not in entries[0]
    assert entries[1]["resource"]["id"] == "lab1"


# The access itself.


def test_an_app_without_the_guard_has_full_access(client: object) -> None:
    from tests.fhir.conftest import Client

    assert isinstance(client, Client)
    assert client.get("/fhir/_history").status_code == 200


def test_a_request_no_guard_saw_is_refused() -> None:
    class State:
        pass

    class Request:
        state = State()

    class Call:
        request = Request()

    with pytest.raises(OperationOutcomeError) as raised:
        access_of(Call())  # type: ignore[arg-type]
    assert raised.value.status == 403
    Request.state.access = FULL_ACCESS  # type: ignore[attr-defined]
    assert access_of(Call()) is FULL_ACCESS  # type: ignore[arg-type]
