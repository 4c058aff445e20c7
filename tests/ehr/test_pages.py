"""``/ehr`` over HTTP: a clinician finds a patient, opens the chart and launches an app."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from isocenter.auth import pkce
from isocenter.auth.clients import App
from isocenter.auth.launch import LaunchRefused, look_up
from isocenter.auth.server import AuthServer
from tests.admin.harness import FHIR_BASE, Web, hidden_fields, sign_in

pytestmark = pytest.mark.usefixtures("people")

REDIRECT_URI = "https://app.example.org/callback"
VERIFIER = "v" * 43


@pytest.fixture
def records(app: Starlette) -> None:
    """An encounter, a condition and a medication of p1; an encounter of p2."""
    with app.state.fhir.store.writer() as writer:
        for id, patient in (("e1", "p1"), ("e2", "p2")):
            writer.put(
                {
                    "resourceType": "Encounter",
                    "id": id,
                    "status": "finished",
                    "class": {"code": "AMB", "display": "ambulatory"},
                    "type": [{"text": "Chemotherapy visit"}],
                    "subject": {"reference": f"Patient/{patient}"},
                    "period": {"start": "2024-05-01T09:00:00Z"},
                }
            )
        writer.put(
            {
                "resourceType": "Condition",
                "id": "c1",
                "code": {"text": "Invasive ductal carcinoma"},
                "subject": {"reference": "Patient/p1"},
            }
        )
        writer.put(
            {
                "resourceType": "MedicationRequest",
                "id": "m1",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {"text": "letrozole"},
                "subject": {"reference": "Patient/p1"},
            }
        )


@pytest.fixture
def launchable(auth: AuthServer) -> App:
    apps = auth.apps
    apps.register(
        name="No Launch URL",
        client_type="public",
        redirect_uris=[REDIRECT_URI],
        scopes="launch",
    )
    disabled, _ = apps.register(
        name="Disabled",
        client_type="public",
        redirect_uris=[REDIRECT_URI],
        scopes="launch",
        launch_url="https://off.example.org/launch",
    )
    apps.disable(disabled.client_id)
    chosen, _ = apps.register(
        name="Tumor Board",
        client_type="public",
        redirect_uris=[REDIRECT_URI],
        scopes="launch openid fhirUser patient/*.rs user/*.rs offline_access",
        launch_url="https://app.example.org/launch?tenant=7",
    )
    return chosen


@pytest.fixture
def clinician(web: Web) -> Web:
    assert sign_in(web, "dr-lee", "/ehr").headers["location"] == "/ehr"
    return web


def launch(web: Web, app: App, patient: str = "p1", encounter: str = "") -> httpx.Response:
    page = web.get(f"/ehr/patients/{patient}")
    data = {**hidden_fields(page.text), "client_id": app.client_id, "encounter": encounter}
    return web.post(f"/ehr/patients/{patient}/launch", data=data)


def test_a_browser_without_a_session_is_sent_to_sign_in(web: Web) -> None:
    response = web.get("/ehr/patients/p1")

    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fehr%2Fpatients%2Fp1"


def test_a_patient_user_is_refused_the_ehr(web: Web) -> None:
    sign_in(web, "ana", "/ehr")

    response = web.get("/ehr")

    assert response.status_code == 403
    assert "these pages are for clinicians" in response.text


@pytest.mark.parametrize(
    "query", [{"name": "rivera"}, {"birth_date": "1961-04-12"}, {"mrn": "MRN-1001"}]
)
def test_patients_are_found_by_name_birth_date_or_mrn(
    clinician: Web, query: dict[str, str]
) -> None:
    page = clinician.get("/ehr?" + urlencode(query))

    assert page.status_code == 200
    assert re.findall(r'href="/ehr/patients/([^"]+)"', page.text) == ["p1"]
    assert "1 patient found" in page.text


def test_a_malformed_birth_date_is_explained_not_an_error(clinician: Web) -> None:
    page = clinician.get("/ehr?birth_date=yesterday")

    assert page.status_code == 200
    assert 'role="alert"' in page.text


@pytest.mark.usefixtures("records")
def test_the_chart_shows_the_record_and_only_launchable_apps(
    clinician: Web, launchable: App
) -> None:
    page = clinician.get("/ehr/patients/p1")

    assert page.status_code == 200
    for text in ("Ana Rivera", "MRN-1001", "Invasive ductal carcinoma", "letrozole"):
        assert text in page.text
    assert "Chemotherapy visit" in page.text
    assert "Launch Tumor Board" in page.text
    assert "No Launch URL" not in page.text and "Disabled" not in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_an_unknown_patient_answers_404(clinician: Web) -> None:
    assert clinician.get("/ehr/patients/nobody").status_code == 404


@pytest.mark.usefixtures("records")
def test_launching_sends_the_browser_to_the_app_with_iss_and_a_launch_handle(
    clinician: Web, launchable: App, app: Starlette
) -> None:
    response = launch(clinician, launchable, encounter="e1")

    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.netloc == "app.example.org" and target.path == "/launch"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["tenant"] == "7"
    assert query["iss"] == FHIR_BASE
    engine = app.state.fhir.store.engine
    context = look_up(
        engine, query["launch"], username="dr-lee", client_id=launchable.client_id
    )
    assert (context.patient_id, context.encounter_id) == ("p1", "e1")
    with pytest.raises(LaunchRefused):
        look_up(engine, query["launch"], username="ana", client_id=launchable.client_id)


@pytest.mark.usefixtures("records")
def test_an_encounter_of_another_patient_is_refused(clinician: Web, launchable: App) -> None:
    response = launch(clinician, launchable, encounter="e2")

    assert response.status_code == 400
    assert "not this patient" in response.text


@pytest.mark.usefixtures("records", "launchable")
def test_an_app_without_a_launch_url_cannot_be_launched(clinician: Web, app: Starlette) -> None:
    no_url = next(a for a in app.state.auth.apps.list() if a.name == "No Launch URL")

    assert launch(clinician, no_url).status_code == 400


def test_a_launch_without_the_csrf_token_is_refused(clinician: Web, launchable: App) -> None:
    response = clinician.post(
        "/ehr/patients/p1/launch", data={"client_id": launchable.client_id}
    )

    assert response.status_code == 403


@pytest.mark.usefixtures("records")
def test_the_handle_gives_the_authorize_request_its_context_once(
    clinician: Web, launchable: App
) -> None:
    handle = parse_qs(
        urlsplit(launch(clinician, launchable, encounter="e1").headers["location"]).query
    )["launch"][0]
    params: dict[str, Any] = {
        "response_type": "code",
        "client_id": launchable.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "launch openid fhirUser patient/*.rs",
        "state": "s1",
        "aud": FHIR_BASE,
        "launch": handle,
        "code_challenge": pkce.s256(VERIFIER),
        "code_challenge_method": "S256",
    }

    consent = clinician.get("/auth/authorize?" + urlencode(params))
    assert consent.status_code == 200, consent.headers.get("location")
    ticked = re.findall(r'name="type" value="([^"]*)"', consent.text)
    fields = {**hidden_fields(consent.text), "decision": "approve", "type": ticked}
    redirect = clinician.post("/auth/authorize", data=fields)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    token = clinician.post(
        "/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": launchable.client_id,
            "code_verifier": VERIFIER,
        },
    ).json()

    assert (token["patient"], token["encounter"]) == ("p1", "e1")
    again = clinician.get("/auth/authorize?" + urlencode(params))
    assert "error=invalid_request" in again.headers.get("location", "")
