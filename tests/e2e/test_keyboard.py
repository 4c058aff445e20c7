"""The sign-in and consent pages completed from the keyboard alone, in Chromium.

WCAG 2.1 §2.1.1 (Keyboard) and §2.4.7 (Focus Visible): every step is reachable with Tab
and done with Enter (a checkbox is unticked with Space, its own keyboard action), and the
focused control is drawn with an outline.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.browser import focus_is_visible, tab_to, wait_for_callback
from tests.e2e.live import LiveServer
from tests.e2e.servers import RedirectTarget
from tests.e2e.smart import authorize_url, exchange_code, new_pkce

SCOPE = "launch/patient openid fhirUser patient/Patient.rs patient/Condition.rs"


def test_sign_in_and_consent_with_the_keyboard_only(
    live: LiveServer, page: Any, redirect_target: RedirectTarget
) -> None:
    patient = live.login("patient", 1)
    app = live.public_app
    pkce = new_pkce()
    page.goto(authorize_url(live, app, scope=SCOPE, state="keys", pkce=pkce))

    tab_to(page, "#username")
    page.keyboard.type(patient.username)
    tab_to(page, "#password")
    page.keyboard.type(patient.password)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Allow").wait_for()

    tab_to(page, 'input[name="type"][value="Condition"]')
    assert focus_is_visible(page)
    page.keyboard.press("Space")
    tab_to(page, 'button[value="approve"]')
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    callback = wait_for_callback(page, redirect_target)

    assert callback.params["state"] == "keys"
    token = exchange_code(live, app, callback.params["code"], pkce).json()
    assert token["patient"] == patient.linked_id
    assert "patient/Patient.rs" in token["scope"].split()
    assert "Condition" not in token["scope"]
