"""EHR launch in Chromium: a clinician opens a chart at /ehr and launches a registered app.

SMART App Launch 2.x, app-launch.html "Launch App: EHR Launch": the EHR opens the app's
launch URL with ``iss`` and ``launch``; the app sends the browser to /auth/authorize with
that ``launch`` and scope ``launch``; no patient picker is shown, and the token response
carries the patient and encounter the clinician chose, ``need_patient_banner`` and a
``smart_style_url`` that answers with a style document.
"""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest

from isocenter.ingest.demo_cohort import CASES
from tests.e2e.browser import allow, sign_in, wait_for_callback
from tests.e2e.live import LiveServer
from tests.e2e.servers import Callback, RedirectTarget
from tests.e2e.smart import authorize_url, exchange_code, fhir_get, new_pkce

CHART_PATIENT = CASES[3]


def launch_from_chart(page: Any, live: LiveServer, target: RedirectTarget) -> Callback:
    """At /ehr: sign in, find the patient, choose their first encounter, launch the app."""
    page.goto(live.url + "/ehr")
    sign_in(page, live.login("clinician"))
    page.get_by_label("Name").fill(CHART_PATIENT.person.family)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=CHART_PATIENT.person.family).first.click()
    page.get_by_role("heading", level=1, name=CHART_PATIENT.person.family).wait_for()
    encounters = page.get_by_label("Encounter in context (optional)")
    encounters.select_option(index=1)
    page.get_by_role("button", name=f"Launch {live.public_app.name}").click()
    page.wait_for_url(target.launch_url + "?**")
    return target.launches[-1]


@pytest.mark.parametrize(
    "scope",
    [
        "launch openid fhirUser offline_access user/*.read",
        "launch openid fhirUser patient/Patient.read",
    ],
    ids=["user-scopes", "patient-scopes"],
)
def test_clinician_launches_an_app_from_the_chart_with_patient_and_encounter(
    live: LiveServer, page: Any, redirect_target: RedirectTarget, scope: str
) -> None:
    app = live.public_app

    launched = launch_from_chart(page, live, redirect_target)
    assert launched.params["iss"] == live.fhir_base
    handle = launched.params["launch"]
    pkce = new_pkce()
    # The app continues in the same browser, where the clinician is signed in already.
    url = authorize_url(live, app, scope=scope, state="ehr", pkce=pkce, launch=handle)
    page.goto(url)
    assert page.get_by_role("button", name="Search").count() == 0  # no patient picker
    allow(page)
    callback = wait_for_callback(page, redirect_target)

    assert callback.params["state"] == "ehr"
    response = exchange_code(live, app, callback.params["code"], pkce)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["patient"] == CHART_PATIENT.patient_id
    encounter = token["encounter"]
    assert encounter
    assert token["need_patient_banner"] is False
    style = httpx.get(token["smart_style_url"], timeout=10)
    assert style.status_code == 200
    assert "color_background" in style.json()
    assert (
        fhir_get(live, token["access_token"], f"Patient/{token['patient']}").status_code == 200
    )
    if scope.startswith("launch openid fhirUser offline_access user/"):
        visit = fhir_get(live, token["access_token"], f"Encounter/{encounter}")
        assert visit.json()["subject"]["reference"] == f"Patient/{CHART_PATIENT.patient_id}"
        assert token["refresh_token"]

    # The launch handle was spent with the code: a second authorize with it is refused.
    page.goto(url)
    again = wait_for_callback(page, redirect_target)
    assert again.params["error"] == "invalid_request"
    assert again.params["state"] == "ehr"


def test_an_ehr_launch_continues_by_form_post_from_the_apps_page(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    """SMART's authorize-post: the app's launch page posts the request, cross-site, so the
    browser withholds the SameSite=Lax session cookie on that POST itself."""
    app = live.public_app
    launched = launch_from_chart(page, live, redirect_target)
    pkce = new_pkce()
    fields = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": "launch openid fhirUser patient/Patient.rs",
        "state": "posted",
        "aud": launched.params["iss"],
        "launch": launched.params["launch"],
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    # The launch page (the app's origin) renders the form the app would serve.
    page.set_content(
        f'<form method="post" action="{live.url}/auth/authorize">{hidden}'
        '<button type="submit">Continue</button></form>'
    )
    page.get_by_role("button", name="Continue").click()
    allow(page)
    callback = wait_for_callback(page, redirect_target)

    assert callback.params["state"] == "posted"
    token = exchange_code(live, app, callback.params["code"], pkce).json()
    assert token["patient"] == CHART_PATIENT.patient_id
    assert token["encounter"]
