"""The compartment-leak suite: a token limited to Patient A reaches none of Patient B's data.

Two Synthea patients are loaded (A: Fannie Waelchi, B: Dwain McGlynn), plus one Encounter
of B's at A's Practitioner and Organization, so that shared resources connect the two
records. Every route and parameter form is tried with real signed tokens through the
guard; each answer must be a 403/404 or a Bundle holding none of B's resources. The check
is on the response text: none of the ids of B's own resources may appear in it.
(SMART App Launch 2.x, scopes-and-launch-context.html: patient-specific scopes.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio.from_thread
import httpx
import pytest
from sqlalchemy import Engine, select

from isocenter.app import create_app
from isocenter.auth.tokens import issue_access_token
from isocenter.config import Settings
from isocenter.ingest.bundle import load_bundle
from isocenter.store.engine import make_engine, migrate
from isocenter.store.schema import audit_event
from tests.auth.conftest import BASE_URL, FHIR_BASE, Http
from tests.conftest import SHARED_DATA, _empty_postgres

SYNTHEA = SHARED_DATA / "synthea" / "bulk-data-server"
A_FILE = SYNTHEA / "Fannie_Waelchi_8666cd40-7af9-48c6-a1a6-86a161195542.json"
B_FILE = SYNTHEA / "Dwain_McGlynn_7515d14b-843b-4210-8b6b-a33ab253d560.json"
A = "8666cd40-7af9-48c6-a1a6-86a161195542"
B = "7515d14b-843b-4210-8b6b-a33ab253d560"
A_PRACTITIONER = "378ce1a5-44aa-3e5a-9929-bee12f92bf74"
A_ORGANIZATION = "291a8a53-1a8b-3004-9a87-a1a00c836f1b"
B_VISIT = "b-visit-at-a-practitioner"
B_NAME = "McGlynn"
BINARY = "leak-binary"


def _bundle(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _ids(path: Path) -> dict[str, set[str]]:
    by_type: dict[str, set[str]] = {}
    for entry in _bundle(path)["entry"]:
        resource = entry["resource"]
        by_type.setdefault(resource["resourceType"], set()).add(resource["id"])
    return by_type


A_IDS = _ids(A_FILE)
B_IDS = _ids(B_FILE)
B_IDS.setdefault("Encounter", set()).add(B_VISIT)
# B's own ids: every id of B's bundle; none is shared with A's bundle.
B_OWN = {id for ids in B_IDS.values() for id in ids}
B_OBSERVATION = sorted(B_IDS["Observation"])[0]
B_PRACTITIONER = sorted(B_IDS["Practitioner"])[0]
B_ORGANIZATION = sorted(B_IDS["Organization"])[0]
B_ENCOUNTER = sorted(B_IDS["Encounter"] - {B_VISIT})[0]
B_CONDITION = sorted(B_IDS["Condition"])[0]
A_OBSERVATION = sorted(A_IDS["Observation"])[0]

B_VISIT_RESOURCE = {
    "resourceType": "Encounter",
    "id": B_VISIT,
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    "subject": {"reference": f"Patient/{B}"},
    "participant": [{"individual": {"reference": f"Practitioner/{A_PRACTITIONER}"}}],
    "serviceProvider": {"reference": f"Organization/{A_ORGANIZATION}"},
}


class Server:
    """The guarded app over one loaded database, and a way to make tokens for it."""

    def __init__(self, app: Any, http: Http) -> None:
        self.app = app
        self.http = http

    def token(
        self,
        scope: str,
        *,
        patient: str | None = None,
        username: str | None = None,
        fhir_user: str | None = None,
    ) -> dict[str, str]:
        token, _, _ = issue_access_token(
            self.app.state.auth.keys,
            client_id="leak-test-app",
            username=username,
            scope=scope,
            patient=patient,
            encounter=None,
            fhir_user=fhir_user,
            authorization_id=None,
        )
        return {"Authorization": f"Bearer {token}"}


@contextmanager
def _database(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp / 'leak.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    _empty_postgres(engine)
    yield engine
    _empty_postgres(engine)
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with _database(request, tmp_path_factory.mktemp("leak")) as engine:
        settings = Settings(database_url="sqlite://", base_url=BASE_URL, demo=False)
        app = create_app(settings, engine=engine)
        context = app.state.fhir
        for path in (A_FILE, B_FILE):
            load_bundle(context.store, context.search, _bundle(path), fhir_base_url=FHIR_BASE)
        binary = {"resourceType": "Binary", "id": BINARY, "contentType": "text/plain"}
        with context.store.writer() as writer:
            writer.put_many([dict(B_VISIT_RESOURCE), binary])
        with anyio.from_thread.start_blocking_portal() as portal:
            http = Http(app, portal)
            yield Server(app, http)
            http.close()


@pytest.fixture(scope="module")
def patient_a(server: Server) -> dict[str, str]:
    return server.token("launch/patient patient/*.rs", patient=A)


def assert_none_of_b(response: httpx.Response) -> None:
    """The answer names none of B's resources that the request did not name itself (a 404
    echoes the id asked for), whatever its status."""
    asked = unquote(str(response.request.url)) + response.request.content.decode()
    leaked = sorted(id for id in B_OWN if id in response.text and id not in asked)
    assert leaked == [], f"{response.status_code}: B's ids in the answer: {leaked[:5]}"
    assert B_NAME in asked or B_NAME not in response.text


def get(server: Server, headers: dict[str, str], path: str) -> httpx.Response:
    response = server.http.get(path, headers=headers)
    assert_none_of_b(response)
    assert response.status_code in (200, 403, 404), response.text
    return response


def entry_ids(response: httpx.Response, mode: str | None = None) -> list[str]:
    bundle = response.json()
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if "resource" in e and (mode is None or e["search"]["mode"] == mode)
    )


# Reads by id: 404, whatever the type.


@pytest.mark.parametrize(
    "path",
    [
        f"/fhir/Patient/{B}",
        f"/fhir/Observation/{B_OBSERVATION}",
        f"/fhir/Condition/{B_CONDITION}",
        f"/fhir/Encounter/{B_VISIT}",
        f"/fhir/Practitioner/{B_PRACTITIONER}",
        f"/fhir/Organization/{B_ORGANIZATION}",
        f"/fhir/Binary/{BINARY}",
    ],
)
def test_read_of_b_is_404(server: Server, patient_a: dict[str, str], path: str) -> None:
    response = get(server, patient_a, path)

    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def test_a_missing_id_and_a_hidden_id_answer_alike(
    server: Server, patient_a: dict[str, str]
) -> None:
    hidden = get(server, patient_a, f"/fhir/Observation/{B_OBSERVATION}")
    missing = get(server, patient_a, "/fhir/Observation/no-such-observation")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["issue"][0]["code"] == missing.json()["issue"][0]["code"]


def test_reads_of_a_and_its_shared_resources_work(
    server: Server, patient_a: dict[str, str]
) -> None:
    for path in (
        f"/fhir/Patient/{A}",
        f"/fhir/Observation/{A_OBSERVATION}",
        f"/fhir/Practitioner/{A_PRACTITIONER}",
        f"/fhir/Organization/{A_ORGANIZATION}",
    ):
        assert get(server, patient_a, path).status_code == 200, path


@pytest.mark.parametrize(
    "path",
    [
        f"/fhir/Patient/{B}/_history/1",
        f"/fhir/Observation/{B_OBSERVATION}/_history/1",
        f"/fhir/Patient/{B}/_history",
        f"/fhir/Observation/{B_OBSERVATION}/_history",
        f"/fhir/Practitioner/{B_PRACTITIONER}/_history",
    ],
)
def test_vread_and_instance_history_of_b_are_404(
    server: Server, patient_a: dict[str, str], path: str
) -> None:
    assert get(server, patient_a, path).status_code == 404


# History of a type or of the system.


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Observation/_history",
        "/fhir/Patient/_history",
        "/fhir/Encounter/_history",
        "/fhir/Practitioner/_history",
        "/fhir/_history?_count=1000",
        "/fhir/_history?_since=1900-01-01",
    ],
)
def test_type_and_system_history_hold_none_of_b(
    server: Server, patient_a: dict[str, str], path: str
) -> None:
    response = get(server, patient_a, path)

    assert response.status_code == 200
    assert response.json()["total"] > 0


def test_history_pages_hold_none_of_b(server: Server, patient_a: dict[str, str]) -> None:
    response = get(server, patient_a, "/fhir/_history?_count=5")
    pages = 1
    while (next_url := _link(response, "next")) is not None:
        response = get(server, patient_a, next_url.removeprefix(BASE_URL))
        pages += 1
    assert pages > 2


def test_system_history_total_is_a_and_its_shared_resources(
    server: Server, patient_a: dict[str, str]
) -> None:
    response = get(server, patient_a, "/fhir/_history")

    # Every resource of A's bundle is in A's compartment or shared and referred to from it.
    assert response.json()["total"] == sum(len(ids) for ids in A_IDS.values())


def test_a_forged_history_cursor_shows_none_of_b(
    server: Server, patient_a: dict[str, str]
) -> None:
    far_future = [2**61, "Patient", B, 99]
    cursor = base64.urlsafe_b64encode(json.dumps(far_future).encode()).decode().rstrip("=")
    response = get(server, patient_a, f"/fhir/_history?_cursor={cursor}")

    assert response.status_code == 200


# Searches: every reference form, ids, chains, _has, includes.

B_ABSOLUTE = quote(f"{FHIR_BASE}/Patient/{B}", safe="")
SEARCHES = [
    f"Observation?patient={B}",
    f"Observation?patient=Patient/{B}",
    f"Observation?patient={B_ABSOLUTE}",
    f"Observation?subject={B}",
    f"Observation?subject:Patient={B}",
    f"Observation?subject=Patient/{B}",
    f"Encounter?patient={B}",
    f"Condition?subject={B}",
    f"Observation?_id={B_OBSERVATION}",
    f"Observation?_id={B_OBSERVATION},{A_OBSERVATION}",
    f"Patient?_id={B}",
    f"Patient?identifier={B}",
    f"Patient?name={B_NAME}",
    f"Patient?family={B_NAME}",
    f"Observation?subject:Patient.name={B_NAME}",
    f"Observation?patient.identifier={B}",
    f"Observation?subject.family={B_NAME}",
    f"Patient?_has:Observation:patient:_id={B_OBSERVATION}",
    f"Patient?_has:Encounter:subject:_id={B_VISIT}",
    f"Practitioner?_has:Encounter:practitioner:patient={B}",
    f"Organization?_has:Encounter:service-provider:patient={B}",
    f"Encounter?participant:Practitioner._has:Encounter:participant:patient={B}",
    f"Encounter?service-provider:Organization._has:Encounter:service-provider:_id={B_VISIT}",
    f"Observation?_id={B_OBSERVATION}&_include=Observation:subject",
    "Observation?_include=Observation:subject&_include=Observation:encounter",
    f"Patient?_id={A}&_revinclude=Observation:subject&_revinclude=Encounter:subject",
    f"Patient?_revinclude=Observation:subject&_id={B}",
    "Practitioner?_revinclude=Encounter:practitioner",
    "Practitioner?_revinclude=Encounter:participant",
    "Organization?_revinclude=Encounter:service-provider",
    f"Practitioner?_id={A_PRACTITIONER}&_revinclude:iterate=Encounter:practitioner"
    "&_include:iterate=Encounter:patient",
    "Encounter?_include=Encounter:service-provider"
    "&_revinclude:iterate=Encounter:service-provider&_include:iterate=Encounter:subject",
    "Encounter?_include=Encounter:practitioner&_revinclude:iterate=Encounter:practitioner",
    f"Practitioner?_id={B_PRACTITIONER}",
    "Practitioner",
    "Organization",
    "Patient",
    "Observation?_count=1000",
    "Observation?_sort=-date&_count=1000",
    "Encounter?_sort=patient",
    "Observation?_summary=count",
    "Observation?_total=accurate&_count=0",
    "Observation?_lastUpdated=gt1900-01-01&patient:missing=false&_elements=subject",
]


@pytest.mark.parametrize("query", SEARCHES)
def test_search_holds_none_of_b(server: Server, patient_a: dict[str, str], query: str) -> None:
    response = get(server, patient_a, f"/fhir/{query}")

    assert response.status_code == 200, response.text
    assert response.json()["type"] == "searchset"


@pytest.mark.parametrize("query", SEARCHES[:20])
def test_post_search_holds_none_of_b(
    server: Server, patient_a: dict[str, str], query: str
) -> None:
    resource_type, _, form = query.partition("?")
    headers = {**patient_a, "Content-Type": "application/x-www-form-urlencoded"}
    response = server.http.post(f"/fhir/{resource_type}/_search", content=form, headers=headers)

    assert_none_of_b(response)
    assert response.status_code == 200


def test_search_finds_a_and_its_shared_resources(
    server: Server, patient_a: dict[str, str]
) -> None:
    observations = get(server, patient_a, "/fhir/Observation?_count=1000")
    practitioners = get(server, patient_a, "/fhir/Practitioner")
    revincluded = get(
        server, patient_a, "/fhir/Practitioner?_revinclude=Encounter:practitioner"
    )

    assert observations.json()["total"] == len(A_IDS["Observation"])
    assert entry_ids(practitioners) == [f"Practitioner/{A_PRACTITIONER}"]
    assert entry_ids(revincluded, "include") == [
        f"Encounter/{id}" for id in sorted(A_IDS["Encounter"])
    ]


def test_a_chain_through_a_shared_practitioner_keeps_has_in_the_compartment(
    server: Server, patient_a: dict[str, str]
) -> None:
    query = f"participant:Practitioner._has:Encounter:participant:patient={B}"
    unlimited = server.token("system/*.rs")

    assert entry_ids(server.http.get(f"/fhir/Encounter?{query}", headers=unlimited)) != []
    assert entry_ids(get(server, patient_a, f"/fhir/Encounter?{query}")) == []


def test_search_pages_hold_none_of_b(server: Server, patient_a: dict[str, str]) -> None:
    response = get(server, patient_a, "/fhir/Observation?_count=3&_sort=date")
    seen = entry_ids(response)
    while (next_url := _link(response, "next")) is not None:
        response = get(server, patient_a, next_url.removeprefix(BASE_URL))
        seen += entry_ids(response)
    assert len(seen) == len(A_IDS["Observation"])


def test_a_cursor_of_another_search_is_refused(
    server: Server, patient_a: dict[str, str]
) -> None:
    clinician = server.token(
        "user/*.rs", username="dr", fhir_user=f"Practitioner/{B_PRACTITIONER}"
    )
    theirs = server.http.get(f"/fhir/Observation?patient={B}&_count=2", headers=clinician)
    next_url = _link(theirs, "next")
    assert next_url is not None and B in next_url

    cursor = next_url.split("_cursor=")[1]
    for path in (next_url.removeprefix(BASE_URL), f"/fhir/Observation?_cursor={cursor}"):
        response = server.http.get(path, headers=patient_a)
        assert response.status_code == 400
        assert_none_of_b(response)


# Transaction and batch with GET entries.


def _reads(*urls: str, kind: str = "batch") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"request": {"method": "GET", "url": url}} for url in urls],
    }


def test_batch_reads_of_b_answer_404_entries(server: Server, patient_a: dict[str, str]) -> None:
    bundle = _reads(
        f"Patient/{B}",
        f"Observation/{B_OBSERVATION}",
        f"Patient/{A}",
        f"{FHIR_BASE}/Practitioner/{B_PRACTITIONER}",
        f"Observation?patient={B}",
    )
    response = server.http.post("/fhir", json=bundle, headers=patient_a)

    assert_none_of_b(response)
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("404") and statuses[1].startswith("404")
    assert statuses[2].startswith("200")
    assert statuses[3].startswith("404")
    assert not statuses[4].startswith("200")


def test_a_transaction_reading_b_is_refused_whole(
    server: Server, patient_a: dict[str, str]
) -> None:
    bundle = _reads(f"Patient/{A}", f"Observation/{B_OBSERVATION}", kind="transaction")
    response = server.http.post("/fhir", json=bundle, headers=patient_a)

    assert_none_of_b(response)
    assert response.status_code == 404
    assert "Bundle.entry[1]" in response.text


# Writes, other scopes, other users.

WRITES = [
    ("POST", "/fhir/Observation", {"resourceType": "Observation", "status": "final"}),
    ("PUT", f"/fhir/Patient/{A}", {"resourceType": "Patient", "id": A}),
    ("PUT", f"/fhir/Patient/{B}", {"resourceType": "Patient", "id": B}),
    ("DELETE", f"/fhir/Observation/{A_OBSERVATION}", None),
    ("DELETE", f"/fhir/Observation/{B_OBSERVATION}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_with_patient_scopes_are_403(
    server: Server, method: str, path: str, body: dict[str, Any] | None
) -> None:
    writer = server.token("patient/*.cruds", patient=A)
    headers = {**writer, "Content-Type": "application/fhir+json"}
    response = server.http.request(method, path, json=body, headers=headers)

    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_a_transaction_writing_with_patient_scopes_is_403(server: Server) -> None:
    writer = server.token("patient/*.cruds", patient=A)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": B, "active": False},
                "request": {"method": "PUT", "url": f"Patient/{B}"},
            }
        ],
    }
    response = server.http.post("/fhir", json=bundle, headers=writer)

    assert response.status_code == 403
    unchanged = server.http.get(f"/fhir/Patient/{B}", headers=server.token("system/*.rs"))
    assert unchanged.json()["meta"]["versionId"] == "1"


@pytest.mark.parametrize(
    "path", [f"/fhir/Patient/{A}", "/fhir/Condition", "/fhir/Patient?_id=" + A]
)
def test_a_type_outside_the_scopes_is_403(server: Server, path: str) -> None:
    observations_only = server.token("patient/Observation.rs", patient=A)
    response = server.http.get(path, headers=observations_only)

    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_includes_of_a_type_outside_the_scopes_are_dropped(server: Server) -> None:
    observations_only = server.token("patient/Observation.rs", patient=A)
    response = server.http.get(
        "/fhir/Observation?_include=Observation:subject", headers=observations_only
    )

    assert response.status_code == 200
    assert entry_ids(response, "include") == []


def test_a_patient_user_sees_only_their_own_compartment(server: Server) -> None:
    user = server.token(
        "openid fhirUser user/*.rs", username="fannie", fhir_user=f"Patient/{A}"
    )

    assert get(server, user, f"/fhir/Patient/{B}").status_code == 404
    assert get(server, user, f"/fhir/Patient/{A}").status_code == 200
    observations = get(server, user, "/fhir/Observation?_count=1000")
    assert observations.json()["total"] == len(A_IDS["Observation"])


def test_a_clinician_user_sees_every_patient(server: Server) -> None:
    clinician = server.token(
        "user/*.rs", username="dr", fhir_user=f"Practitioner/{B_PRACTITIONER}"
    )

    assert server.http.get(f"/fhir/Patient/{B}", headers=clinician).status_code == 200
    both = server.http.get("/fhir/Patient", headers=clinician)
    assert {f"Patient/{A}", f"Patient/{B}"} <= set(entry_ids(both))


def test_system_scopes_see_every_patient(server: Server) -> None:
    backend = server.token("system/*.rs")

    assert (
        server.http.get(f"/fhir/Observation/{B_OBSERVATION}", headers=backend).status_code
        == 200
    )
    history = server.http.get("/fhir/Patient/_history", headers=backend)
    assert history.json()["total"] == 2


def test_each_refused_read_is_audited_with_names_not_values(
    server: Server, patient_a: dict[str, str]
) -> None:
    get(server, patient_a, f"/fhir/Observation?patient={B}&code=8302-2")
    get(server, patient_a, f"/fhir/Observation/{B_OBSERVATION}")

    server.app.state.audit.flush()
    engine = server.app.state.auth.engine
    with engine.connect() as conn:
        rows = list(
            conn.execute(select(audit_event).order_by(audit_event.c.id.desc()).limit(2))
        )
    read, search = rows
    assert (read.action, read.resource_id, read.outcome) == ("read", B_OBSERVATION, 404)
    assert (search.action, search.query, search.outcome) == ("search", "code,patient", 200)
    assert read.patient_id == search.patient_id == A
    assert read.client_id == "leak-test-app"


def _link(response: httpx.Response, relation: str) -> str | None:
    for link in response.json().get("link", []):
        if link["relation"] == relation:
            url: str = link["url"]
            return url
    return None
