"""The newcomer's path in Chromium: register an app on /admin, then launch it at once.

The site admin fills the registration form (name, logo URL, launch URL, redirect URIs,
sign-off URL, scopes, client type), sees the client id and the client secret exactly once,
and the app then completes a standalone launch with those credentials (client_secret_basic,
RFC 6749 §2.3.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.browser import allow, sign_in, wait_for_callback
from tests.e2e.live import LiveServer, RegisteredApp
from tests.e2e.servers import RedirectTarget
from tests.e2e.smart import authorize_url, exchange_code, fhir_get, new_pkce

SCOPES = "launch/patient openid fhirUser patient/*.rs"
CONSENT_WITH_LOGO = Path("/tmp/isocenter-e2e-consent-logo.png")


def register_on_admin_page(page: Any, live: LiveServer, target: RedirectTarget) -> None:
    page.goto(live.url + "/admin")
    sign_in(page, live.login("admin"))
    page.get_by_role("link", name="Register an app").click()
    page.get_by_label("App name").fill("Tumor Board Viewer")
    page.get_by_label("Logo URL (optional)").fill(target.logo_url)
    page.get_by_label("App launch URL").fill(target.launch_url)
    page.get_by_label("Redirect URIs, one per line").fill(target.redirect_uri)
    page.get_by_label("Sign-off URL (optional)").fill(target.logout_url)
    page.get_by_label("Scopes the app may ask for").fill(SCOPES)
    page.get_by_role("radio", name="Confidential, symmetric").check()
    page.get_by_role("button", name="Register").click()


def test_admin_registers_an_app_sees_its_secret_once_and_the_app_launches(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    register_on_admin_page(page, live, redirect_target)

    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    assert client_id
    assert len(secret) >= 32
    assert "shown only this once" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Back to the app").click()
    assert client_id in page.content()
    assert secret not in page.content()
    page.get_by_role("link", name="Apps", exact=True).click()
    assert page.get_by_role("row", name="Tumor Board Viewer").count() == 1

    app = RegisteredApp("Tumor Board Viewer", client_id, secret, redirect_target.redirect_uri)
    pkce = new_pkce()
    page.context.clear_cookies()  # the patient signs in on a browser of their own
    page.goto(authorize_url(live, app, scope=SCOPES, state="new-app", pkce=pkce))
    sign_in(page, live.login("patient"))
    assert "Tumor Board Viewer" in page.get_by_role("heading", level=1).inner_text()
    logo = page.get_by_role("img", name="Tumor Board Viewer logo")
    assert logo.evaluate("image => image.complete && image.naturalWidth") == 48
    page.screenshot(path=str(CONSENT_WITH_LOGO), full_page=True)
    allow(page)
    callback = wait_for_callback(page, redirect_target)
    token = exchange_code(live, app, callback.params["code"], pkce).json()
    assert token["scope"].split() == SCOPES.split()
    read = fhir_get(live, token["access_token"], f"Patient/{token['patient']}")
    assert read.status_code == 200
