"""A SMART client written by others, ``fhirclient`` 4.4.0 from PyPI, against the live server.

fhirclient finds the authorize and token URLs in the CapabilityStatement's oauth-uris
extension, sends PKCE S256 on its own (fhirclient/auth.py ``_authorize_params``), and
trades the code in ``handle_callback``; so it runs as the public app, no secret. The
browser part (sign-in, consent) is Chromium's; everything the app does is fhirclient's.
"""

from __future__ import annotations

from typing import Any

from fhirclient import client  # type: ignore[import-untyped]
from fhirclient.models.condition import Condition  # type: ignore[import-untyped]
from fhirclient.models.patient import Patient  # type: ignore[import-untyped]

from tests.e2e.flows import approve_in_browser
from tests.e2e.live import LiveServer
from tests.e2e.servers import RedirectTarget


def test_fhirclient_completes_a_standalone_launch_and_reads_the_patient(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    app = live.public_app
    patient = live.login("patient")
    smart = client.FHIRClient(
        settings={
            "app_id": app.client_id,
            "api_base": live.fhir_base,
            "redirect_uri": app.redirect_uri,
            # fhirclient adds launch/patient itself when it has no patient yet.
            "scope": "openid fhirUser offline_access patient/*.read",
        }
    )

    authorize_url = smart.authorize_url
    assert authorize_url.startswith(live.url + "/auth/authorize?")
    assert "code_challenge_method=S256" in authorize_url
    callback_url = approve_in_browser(page, redirect_target, authorize_url, patient)
    smart.handle_callback(callback_url)

    assert smart.ready
    assert smart.patient_id == patient.linked_id
    read = Patient.read(smart.patient_id, smart.server)
    assert read.id == patient.linked_id
    assert smart.human_name(read.name[0])
    search = Condition.where(struct={"patient": patient.linked_id})
    conditions = list(search.perform_resources_iter(smart.server))
    assert conditions
    assert {c.subject.reference for c in conditions} == {f"Patient/{patient.linked_id}"}

    # offline_access gave a refresh token; fhirclient's reauthorize spends it.
    first_access_token = smart.server.auth.access_token
    assert smart.reauthorize()
    assert smart.server.auth.access_token != first_access_token
    assert Patient.read(smart.patient_id, smart.server).id == patient.linked_id
