"""EHR launch: the ``launch`` handle in the authorize request (SMART App Launch 2.x,
app-launch.html#launch-app-ehr-launch): single use, short-lived, bound to the clinician
who opened the app (and to the app), and the context it carries to the token response."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from isocenter.ehr.launches import create_launch
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import (
    PASSWORD,
    Browser_,
    approve,
    authorize_params,
    consent,
    exchange,
    redirect_query,
    register,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("users")

EHR_USER_SCOPES = "launch openid fhirUser offline_access user/*.read"
EHR_PATIENT_SCOPES = "launch openid fhirUser patient/Patient.read"


def _launch(parts: Browser, app: App | None = None, **overrides: object) -> str:
    values: dict[str, object] = {
        "username": "dr-lee",
        "patient_id": "p2",
        "encounter_id": "enc-7",
        "client_id": app.client_id if app else None,
        **overrides,
    }
    return create_launch(parts.engine, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "scope", [EHR_USER_SCOPES, EHR_PATIENT_SCOPES], ids=["user", "patient"]
)
def test_an_ehr_launch_carries_patient_and_encounter_without_a_picker(
    web: Browser_, public_app: App, parts: Browser, scope: str
) -> None:
    sign_in(web, "dr-lee")
    params = authorize_params(public_app, scope=scope, launch=_launch(parts, public_app))

    query = redirect_query(approve(web, params))
    body = exchange(web, public_app, query["code"]).json()

    assert body["patient"] == "p2"
    assert body["encounter"] == "enc-7"
    assert body["need_patient_banner"] is False
    assert body["scope"] == scope
    assert "id_token" in body


def test_a_reused_launch_handle_is_invalid_request(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "dr-lee")
    params = authorize_params(public_app, scope=EHR_USER_SCOPES, launch=_launch(parts))
    redirect_query(approve(web, params))

    again = redirect_query(web.get("/auth/authorize?" + urlencode(params)))

    assert again["error"] == "invalid_request"
    assert "launch" in again["error_description"]
    assert again["state"] == params["state"]


def test_a_launch_handle_spent_in_another_tab_gives_no_second_code(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "dr-lee")
    params = authorize_params(public_app, scope=EHR_USER_SCOPES, launch=_launch(parts))
    consent_page = web.get("/auth/authorize?" + urlencode(params)).text
    redirect_query(approve(web, params))

    late = redirect_query(consent(web, consent_page))

    assert late["error"] == "invalid_request"
    assert "code" not in late


def test_another_clinicians_launch_handle_is_refused(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    parts.users.add("dr-kim", PASSWORD, "clinician", practitioner_id="d2")
    sign_in(web, "dr-kim")
    params = authorize_params(public_app, scope=EHR_USER_SCOPES, launch=_launch(parts))

    query = redirect_query(web.get("/auth/authorize?" + urlencode(params)))

    assert query["error"] == "invalid_request"


def test_a_launch_handle_made_for_another_app_is_refused(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    other = register(parts, "public")
    sign_in(web, "dr-lee")
    launch = _launch(parts, other)
    params = authorize_params(public_app, scope=EHR_USER_SCOPES, launch=launch)

    query = redirect_query(web.get("/auth/authorize?" + urlencode(params)))

    assert query["error"] == "invalid_request"


def test_an_expired_launch_handle_is_refused(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "dr-lee")
    launch = _launch(parts, lifetime_seconds=0)
    params = authorize_params(public_app, scope=EHR_USER_SCOPES, launch=launch)

    query = redirect_query(web.get("/auth/authorize?" + urlencode(params)))

    assert query["error"] == "invalid_request"


def test_an_unknown_launch_handle_is_refused(web: Browser_, public_app: App) -> None:
    sign_in(web, "dr-lee")
    params = authorize_params(public_app, scope=EHR_USER_SCOPES, launch="made-up")

    query = redirect_query(web.get("/auth/authorize?" + urlencode(params)))

    assert query["error"] == "invalid_request"
