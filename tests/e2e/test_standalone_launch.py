"""Standalone launches in Chromium: a patient, and a clinician with the patient picker.

SMART App Launch 2.x, app-launch.html "Launch App: Standalone Launch" and "Obtain
authorization code": the app sends the browser to /auth/authorize; the user signs in,
(a clinician) picks a patient, approves on the consent page, and the browser comes back to
the registered redirect URI with a code and the app's own ``state``. The app then trades
the code with its PKCE verifier (RFC 7636 §4.5) and reads what was granted, and only that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from isocenter.ingest.demo_cohort import CASES
from tests.e2e.browser import allow, pick_patient, sign_in, type_checkbox, wait_for_callback
from tests.e2e.live import LiveServer
from tests.e2e.servers import RedirectTarget
from tests.e2e.smart import authorize_url, exchange_code, fhir_get, new_pkce

CONSENT_SCREENSHOT = Path("/tmp/isocenter-e2e-consent.png")
# Characters an app may well put in state; they must come back exactly as sent.
AWKWARD_STATE = "s+1/2 ?&=%é"
PATIENT_SCOPE = (
    "launch/patient openid fhirUser "
    "patient/Patient.rs patient/Observation.rs?category=laboratory patient/Immunization.rs"
)


def test_patient_approves_all_but_one_type_and_the_app_reads_only_the_rest(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    patient = live.login("patient")
    app = live.public_app
    pkce = new_pkce()
    url = authorize_url(live, app, scope=PATIENT_SCOPE, state=AWKWARD_STATE, pkce=pkce)

    page.goto(url)
    sign_in(page, patient)
    assert type_checkbox(page, "Immunization").is_checked()
    observations_line = page.get_by_text("Lab results, vital signs and other observations")
    assert "only where category = laboratory" in observations_line.inner_text()
    page.screenshot(path=str(CONSENT_SCREENSHOT), full_page=True)
    allow(page, untick=["Immunization"])
    callback = wait_for_callback(page, redirect_target)

    assert callback.params["state"] == AWKWARD_STATE
    assert "error" not in callback.params
    response = exchange_code(live, app, callback.params["code"], pkce)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["patient"] == patient.linked_id
    assert "patient/Observation.rs?category=laboratory" in token["scope"].split()
    assert "Immunization" not in token["scope"]

    own = fhir_get(live, token["access_token"], f"Patient/{patient.linked_id}")
    assert own.status_code == 200
    assert own.json()["id"] == patient.linked_id
    observations = fhir_get(live, token["access_token"], "Observation?_count=5")
    assert observations.status_code == 200
    found = [entry["resource"] for entry in observations.json()["entry"]]
    assert {o["subject"]["reference"] for o in found} == {f"Patient/{patient.linked_id}"}
    # The v2 query restriction holds: every observation read is a laboratory one.
    assert all(_category_codes(o) == {"laboratory"} for o in found)
    vitals = fhir_get(live, token["access_token"], "Observation?category=vital-signs")
    assert vitals.status_code == 200
    assert vitals.json().get("entry", []) == []
    # Searches are limited to the patient's compartment without a word: another patient's
    # observations are simply not found.
    other = next(case.patient_id for case in CASES if case.patient_id != patient.linked_id)
    theirs = fhir_get(live, token["access_token"], f"Observation?patient={other}")
    assert theirs.status_code == 200
    assert theirs.json().get("entry", []) == []
    unticked = fhir_get(
        live, token["access_token"], f"Immunization?patient={patient.linked_id}"
    )
    assert unticked.status_code == 403
    assert unticked.json()["resourceType"] == "OperationOutcome"


def _category_codes(observation: dict[str, Any]) -> set[str]:
    return {c["code"] for cat in observation.get("category", []) for c in cat["coding"]}


def test_clinician_picks_a_patient_and_the_token_is_limited_to_them(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    clinician = live.login("clinician")
    chosen, other = CASES[1], CASES[2]
    app = live.public_app
    pkce = new_pkce()
    scope = "launch/patient openid fhirUser patient/*.rs"

    page.goto(authorize_url(live, app, scope=scope, state="picker", pkce=pkce))
    sign_in(page, clinician)
    pick_patient(page, name=chosen.person.family, shown=chosen.person.family)
    assert chosen.person.family in page.get_by_role("main").inner_text()
    allow(page)
    callback = wait_for_callback(page, redirect_target)

    assert callback.params["state"] == "picker"
    token = exchange_code(live, app, callback.params["code"], pkce).json()
    assert token["patient"] == chosen.patient_id
    assert token["id_token"]
    read = fhir_get(live, token["access_token"], f"Patient/{chosen.patient_id}")
    assert read.status_code == 200
    # Another patient's record is not there at all for this token: 404, so ids do not leak.
    hidden = fhir_get(live, token["access_token"], f"Patient/{other.patient_id}")
    assert hidden.status_code == 404


# What a single-page app runs on its redirect page: the token call and a FHIR read with
# fetch, from its own origin, so the browser enforces CORS on both (a bearer header makes
# the read a preflighted request).
BROWSER_APP_SCRIPT = """
async ([tokenUrl, fhirBase, form]) => {
  const tokenResponse = await fetch(tokenUrl, {
    method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: new URLSearchParams(form),
  });
  const token = await tokenResponse.json();
  const read = await fetch(`${fhirBase}/Patient/${token.patient}`, {
    headers: {"Authorization": `Bearer ${token.access_token}`,
              "Accept": "application/fhir+json"},
  });
  return {patient: token.patient, status: read.status, resource: await read.json()};
}
"""


def test_a_browser_app_trades_the_code_and_reads_across_origins(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    patient = live.login("patient", 2)
    app = live.public_app
    pkce = new_pkce()
    scope = "launch/patient openid fhirUser patient/Patient.rs"

    page.goto(authorize_url(live, app, scope=scope, state="spa", pkce=pkce))
    sign_in(page, patient)
    allow(page)
    callback = wait_for_callback(page, redirect_target)
    form = {
        "grant_type": "authorization_code",
        "code": callback.params["code"],
        "redirect_uri": app.redirect_uri,
        "code_verifier": pkce.verifier,
        "client_id": app.client_id,
    }
    outcome = page.evaluate(
        BROWSER_APP_SCRIPT, [live.url + "/auth/token", live.fhir_base, form]
    )

    assert outcome["patient"] == patient.linked_id
    assert outcome["status"] == 200
    assert outcome["resource"]["id"] == patient.linked_id
