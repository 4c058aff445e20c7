"""What an export carries (export.html#response---complete-status), grouped by parameter:
system, Patient and Group exports of the shared Synthea data, ``_type``, ``_since``,
``_typeFilter``, ``_elements``, the transaction time, and files split at the limit."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from isocenter.bulk.service import BulkService
from isocenter.store import schema
from isocenter.store.instants import to_instant
from tests.bulk.conftest import Http
from tests.bulk.exports import export, lines, resources


def stored_counts(app: Starlette, patients: list[str] | None = None) -> Counter[str]:
    """Current resources per type, in the given Patients' compartments if any."""
    res = schema.resource
    statement = select(res.c.resource_type, func.count()).where(res.c.deleted.is_(False))
    if patients is not None:
        members = select(schema.compartment.c.res_key).where(
            schema.compartment.c.patient_id.in_(patients)
        )
        statement = statement.where(res.c.res_key.in_(members))
    statement = statement.group_by(res.c.resource_type)
    with app.state.fhir.store.engine.connect() as conn:
        return Counter(dict(conn.execute(statement).all()))


def by_type(found: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["resourceType"] for r in found)


def add(app: Starlette, resource: dict[str, Any]) -> None:
    with app.state.fhir.store.writer() as writer:
        writer.put(resource)


# --- system export ----------------------------------------------------------------


def test_system_export_carries_every_stored_resource_once(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    document = export(http, service, token)
    found = resources(http, token, document)
    assert by_type(found) == stored_counts(app)
    keys = [(r["resourceType"], r["id"]) for r in found]
    assert len(keys) == len(set(keys))
    assert document["requiresAccessToken"] is True
    assert document["error"] == []
    assert "deleted" not in document


def test_every_line_is_one_compact_resource_as_stored(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    document = export(http, service, token, params={"_type": "Patient"})
    [entry] = document["output"]
    response = http.request("GET", entry["url"], token)
    text = response.content.decode("utf-8")
    for line in text.splitlines():
        assert (
            line.startswith('{"resourceType":"Patient"') or '"resourceType":"Patient"' in line
        )
        assert ": " not in line.split('"text"')[0]  # no pretty printing
    stored = app.state.fhir.store.read("Patient", loaded[0])
    assert stored.content in text.splitlines()


# --- Patient and Group exports ----------------------------------------------------


def test_patient_export_carries_every_compartment_resource(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    document = export(http, service, token, "/fhir/Patient/$export")
    assert by_type(resources(http, token, document)) == stored_counts(app, loaded)


def test_group_export_carries_only_its_members(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    members, outsider = loaded[:2], loaded[2]
    group = {
        "resourceType": "Group",
        "id": "cohort",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{p}"}} for p in members],
    }
    add(app, group)
    document = export(http, service, token, "/fhir/Group/cohort/$export")
    found = resources(http, token, document)
    assert by_type(found) == stored_counts(app, members)
    assert outsider not in {r["id"] for r in found if r["resourceType"] == "Patient"}
    assert not any(outsider in str(r.get("subject", "")) for r in found)


def test_group_without_members_exports_nothing(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    add(app, {"resourceType": "Group", "id": "empty", "type": "person", "actual": True})
    document = export(http, service, token, "/fhir/Group/empty/$export")
    assert document["output"] == []


def test_patient_parameter_narrows_a_patient_export(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": {"reference": f"Patient/{loaded[1]}"}}
        ],
    }
    document = export(http, service, token, "/fhir/Patient/$export", method_post=body)
    assert by_type(resources(http, token, document)) == stored_counts(app, [loaded[1]])


def test_shared_resources_only_when_associated_data_asks(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    plain = export(
        http, service, token, "/fhir/Patient/$export", params={"_type": "Practitioner"}
    )
    assert plain["output"] == []
    params = {"_type": "Practitioner", "includeAssociatedData": "_sharedResources"}
    shared = export(http, service, token, "/fhir/Patient/$export", params=params)
    assert sum(entry["count"] for entry in shared["output"]) > 0


# --- _type ------------------------------------------------------------------------


def test_type_limits_the_export_to_the_listed_types(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    document = export(http, service, token, params={"_type": "Patient,Condition"})
    counts = stored_counts(app)
    assert by_type(resources(http, token, document)) == {
        "Patient": counts["Patient"],
        "Condition": counts["Condition"],
    }


# --- _since, deleted and the transaction time ---------------------------------------


def test_since_exports_only_later_changes_and_lists_deletions(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    first = export(http, service, token, params={"_type": "Patient"})
    time.sleep(0.01)
    add(app, {"resourceType": "Patient", "id": "newcomer", "active": True})
    with app.state.fhir.store.writer() as writer:
        writer.delete("Patient", loaded[0])
    since = first["transactionTime"]
    document = export(http, service, token, params={"_type": "Patient", "_since": since})
    assert [r["id"] for r in resources(http, token, document)] == ["newcomer"]
    [deleted] = document["deleted"]
    [bundle] = lines(http, token, deleted["url"])
    assert bundle["type"] == "transaction"
    assert bundle["entry"][0]["request"] == {"method": "DELETE", "url": f"Patient/{loaded[0]}"}


def test_resources_written_after_kick_off_wait_for_the_next_export(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    from tests.bulk.exports import kick_off, manifest, run_jobs

    status_url = kick_off(http, token, params={"_type": "Patient"})
    add(app, {"resourceType": "Patient", "id": "late", "active": True})
    run_jobs(service)
    document = manifest(http, token, status_url)
    ids = {r["id"] for r in resources(http, token, document)}
    assert "late" not in ids and set(loaded) <= ids
    later = export(
        http,
        service,
        token,
        params={"_type": "Patient", "_since": document["transactionTime"]},
    )
    assert [r["id"] for r in resources(http, token, later)] == ["late"]


def test_until_leaves_out_resources_updated_after_it(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    until = to_instant(time.time_ns() // 1000)
    time.sleep(0.01)
    add(app, {"resourceType": "Patient", "id": "after-until", "active": True})
    document = export(http, service, token, params={"_type": "Patient", "_until": until})
    assert {r["id"] for r in resources(http, token, document)} == set(loaded)


def test_transaction_time_is_the_kick_off_time(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    before = to_instant(time.time_ns() // 1000)
    document = export(http, service, token, params={"_type": "Patient"})
    assert before <= document["transactionTime"] <= to_instant(time.time_ns() // 1000)


# --- _typeFilter --------------------------------------------------------------------


def test_type_filter_keeps_only_matching_resources(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    params = {"_type": "Patient", "_typeFilter": f"Patient?_id={loaded[1]}"}
    document = export(http, service, token, params=params)
    assert [r["id"] for r in resources(http, token, document)] == [loaded[1]]


def test_type_filters_of_one_type_are_or_ed(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    params = {
        "_type": "Patient,Condition",
        "_typeFilter": f"Patient?_id={loaded[0]},Patient?_id={loaded[2]}",
    }
    found = resources(http, token, export(http, service, token, params=params))
    patients = {r["id"] for r in found if r["resourceType"] == "Patient"}
    assert patients == {loaded[0], loaded[2]}
    assert by_type(found)["Condition"] == stored_counts(app)["Condition"]


# --- _elements ----------------------------------------------------------------------


def test_elements_keeps_the_named_elements_and_marks_them_subsetted(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    params = {"_type": "Patient", "_elements": "Patient.gender"}
    found = resources(http, token, export(http, service, token, params=params))
    for patient in found:
        assert set(patient) <= {"resourceType", "id", "meta", "gender"}
        assert patient["meta"]["tag"][-1]["code"] == "SUBSETTED"


# --- files --------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [7])
def test_a_large_type_is_split_across_files(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str], limit: int
) -> None:
    service.exporter.max_per_file = limit
    document = export(http, service, token, params={"_type": "Encounter"})
    counts = [entry["count"] for entry in document["output"]]
    assert len(counts) > 1
    assert all(count == limit for count in counts[:-1]) and 0 < counts[-1] <= limit
    assert len(resources(http, token, document)) == stored_counts(app)["Encounter"]
