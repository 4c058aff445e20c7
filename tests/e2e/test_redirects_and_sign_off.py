"""Where the browser is sent, and where it is not, in Chromium.

RFC 6749 §4.1.2.1: a request whose client or redirect URI is not known good is answered on
a page and never redirected. OpenID Connect RP-Initiated Logout §3: sign-out returns only
to the app's registered sign-off URL, with its ``state``. SMART's management endpoint: the
user revokes an app, and its tokens stop working at once.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.browser import sign_in
from tests.e2e.flows import patient_launch
from tests.e2e.live import LiveServer, RegisteredApp
from tests.e2e.servers import RedirectTarget
from tests.e2e.smart import authorize_url, fhir_get, new_pkce, refresh

OFFLINE_SCOPE = "launch/patient openid fhirUser offline_access patient/Patient.rs"


def test_an_unregistered_redirect_uri_is_answered_on_a_page_not_followed(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    stranger = RegisteredApp(
        "E2E public app", live.public_app.client_id, None, "http://127.0.0.1:9/steal"
    )
    arrivals = len(redirect_target.callbacks)
    url = authorize_url(live, stranger, scope=OFFLINE_SCOPE, state="x", pkce=new_pkce())

    response = page.goto(url)

    assert response.status == 400
    assert page.url.startswith(live.url + "/auth/authorize")
    assert page.get_by_role("alert").is_visible()
    assert len(redirect_target.callbacks) == arrivals


def test_the_user_revokes_an_app_on_the_management_page(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    app = live.public_app
    patient = live.login("patient", 3)  # a login of its own: it revokes all of its grants
    token = patient_launch(
        live, page, redirect_target, app=app, scope=OFFLINE_SCOPE, login=patient
    )

    page.goto(live.url + "/auth/manage")
    revoke_button = page.get_by_role("button", name=f"Revoke {app.name}")
    assert revoke_button.count() == 1
    revoke_button.click()
    notice = page.get_by_role("status").inner_text()

    assert f"{app.name} can no longer read your records" in notice
    assert page.get_by_role("button", name=f"Revoke {app.name}").count() == 0
    assert fhir_get(live, token["access_token"], "Patient").status_code == 401
    assert refresh(live, app, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_sign_out_returns_only_to_the_registered_sign_off_url(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    app = live.public_app
    patient_launch(live, page, redirect_target, app=app, scope=OFFLINE_SCOPE)

    page.goto(
        f"{live.url}/auth/logout?client_id={app.client_id}"
        f"&post_logout_redirect_uri=http://127.0.0.1:9/elsewhere"
    )
    assert page.url.startswith(live.url + "/auth/logout")
    assert "Sign-out refused" in page.get_by_role("heading", level=1).inner_text()

    page.goto(
        f"{live.url}/auth/logout?client_id={app.client_id}"
        f"&post_logout_redirect_uri={redirect_target.logout_url}&state=bye"
    )
    page.wait_for_url(redirect_target.logout_url + "?**")
    assert redirect_target.sign_offs[-1].params == {"state": "bye"}
    # The session is over: the next authorize asks the user to sign in again.
    page.goto(authorize_url(live, app, scope=OFFLINE_SCOPE, state="again", pkce=new_pkce()))
    sign_in(page, live.login("patient"))
    page.get_by_role("button", name="Allow").wait_for()
