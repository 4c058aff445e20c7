"""The authorize endpoint: request checks in the spec's order, the pages, the redirect back.

RFC 6749 §4.1.2.1 (page vs redirect errors), SMART App Launch 2.x app-launch.html (aud,
PKCE S256, launch), and the headers every page carries.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import (
    FHIR_BASE,
    PASSWORD,
    REDIRECT_URI,
    Browser_,
    approve,
    authorize_params,
    exchange,
    hidden_fields,
    redirect_query,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("users")


# --- errors shown on a page, never redirected ------------------------------------------


def test_an_unknown_client_id_gets_an_error_page_not_a_redirect(
    web: Browser_, public_app: App
) -> None:
    response = web.get(
        "/auth/authorize?" + urlencode(authorize_params(public_app, client_id="nope"))
    )

    assert response.status_code == 400
    assert "location" not in response.headers
    assert "not registered" in response.text


def test_a_disabled_app_gets_an_error_page(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    parts.apps.disable(public_app.client_id)

    response = web.get("/auth/authorize?" + urlencode(authorize_params(public_app)))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert "disabled" in response.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/callback",
        REDIRECT_URI + "/",
        REDIRECT_URI + "?x=1",
        "https://APP.example.com/callback",
        None,
    ],
    ids=["unregistered", "trailing-slash", "extra-query", "case-changed", "missing"],
)
def test_a_redirect_uri_that_is_not_exactly_registered_gets_an_error_page(
    web: Browser_, public_app: App, redirect_uri: str | None
) -> None:
    params = authorize_params(public_app, redirect_uri=redirect_uri)

    response = web.get("/auth/authorize?" + urlencode(params))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert "has not registered" in response.text


# --- errors redirected with error, error_description and state -------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "words"),
    [
        ({"aud": "https://other.example.org/fhir"}, "invalid_request", "aud"),
        ({"aud": None}, "invalid_request", "aud"),
        ({"response_type": "token"}, "unsupported_response_type", "code"),
        ({"response_type": None}, "invalid_request", "response_type"),
        ({"code_challenge": None}, "invalid_request", "code_challenge"),
        ({"code_challenge_method": "plain"}, "invalid_request", "S256"),
        ({"code_challenge_method": None}, "invalid_request", "S256"),
        ({"scope": "system/*.read"}, "invalid_scope", "none of the requested"),
        ({"scope": "patient/Observation.sr"}, "invalid_scope", "cruds"),
        ({"scope": None}, "invalid_scope", "required"),
    ],
    ids=[
        "wrong-aud",
        "no-aud",
        "token-response-type",
        "no-response-type",
        "no-pkce",
        "plain-pkce",
        "pkce-without-method",
        "scope-not-registered",
        "malformed-scope",
        "no-scope",
    ],
)
def test_a_bad_request_from_a_known_app_is_redirected_with_the_error_and_state(
    web: Browser_, public_app: App, overrides: dict[str, str | None], error: str, words: str
) -> None:
    params = authorize_params(public_app, **overrides)

    response = web.get("/auth/authorize?" + urlencode(params))

    query = redirect_query(response)
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    assert query["error"] == error
    assert words in query["error_description"]
    assert query["state"] == params["state"]
    assert "code" not in query


def test_a_repeated_parameter_is_an_invalid_request(web: Browser_, public_app: App) -> None:
    params = list(authorize_params(public_app).items()) + [("scope", "openid")]

    query = redirect_query(web.get("/auth/authorize?" + urlencode(params)))

    assert query["error"] == "invalid_request"


def test_aud_with_a_trailing_slash_is_the_same_server(web: Browser_, public_app: App) -> None:
    response = web.get(
        "/auth/authorize?" + urlencode(authorize_params(public_app, aud=FHIR_BASE + "/"))
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/signin?")


def test_a_confidential_app_may_skip_pkce(
    web: Browser_, confidential_app: tuple[App, str]
) -> None:
    registered, _secret = confidential_app
    params = authorize_params(registered, code_challenge=None, code_challenge_method=None)
    sign_in(web, "ana")

    query = redirect_query(approve(web, params))

    assert "code" in query


# --- sign-in, consent and the redirect back --------------------------------------------


def test_without_a_session_the_browser_is_sent_to_sign_in_and_back(
    web: Browser_, public_app: App
) -> None:
    params = authorize_params(public_app)

    first = web.get("/auth/authorize?" + urlencode(params))
    assert first.status_code == 303
    signin_page = web.get(first.headers["location"])
    assert "Cancer Journal" in signin_page.text
    fields = {**hidden_fields(signin_page.text), "username": "ana", "password": PASSWORD}
    back = web.post("/auth/signin", data=fields).headers["location"]

    assert back.startswith("/auth/authorize?")
    consent_page = web.get(back)
    assert consent_page.status_code == 200
    assert "Allow Cancer Journal" in consent_page.text


def test_the_code_comes_back_with_the_state_exactly_as_sent(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app, state="a b+c/d?e=f&g=%20é")

    query = redirect_query(approve(web, params))

    assert query["state"] == "a b+c/d?e=f&g=%20é"
    assert len(query["code"]) >= 40


def test_a_request_without_state_gets_no_state_back(web: Browser_, public_app: App) -> None:
    sign_in(web, "ana")

    query = redirect_query(approve(web, authorize_params(public_app, state=None)))

    assert "state" not in query and "code" in query


def test_deny_sends_access_denied_with_state(web: Browser_, public_app: App) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app)

    query = redirect_query(approve(web, params, decision="deny"))

    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]


def test_authorize_post_continues_as_get_with_the_same_parameters(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app)

    posted = web.post("/auth/authorize", data=params)

    assert posted.status_code == 303
    page = web.get(posted.headers["location"])
    assert "Allow Cancer Journal" in page.text


def test_a_site_admin_cannot_authorize_an_app(web: Browser_, public_app: App) -> None:
    sign_in(web, "root")

    query = redirect_query(
        web.get("/auth/authorize?" + urlencode(authorize_params(public_app)))
    )

    assert query["error"] == "access_denied"


def test_a_consent_form_without_the_csrf_token_is_refused(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app)

    response = web.post(
        "/auth/authorize", data={**params, "step": "consent", "decision": "approve"}
    )

    assert response.status_code == 403
    assert "location" not in response.headers


# --- headers ---------------------------------------------------------------------------


def test_every_page_refuses_framing_and_caching(web: Browser_, public_app: App) -> None:
    params = authorize_params(public_app)
    pages = [
        web.get("/auth/authorize?" + urlencode(params)),
        web.get("/auth/signin"),
        web.get("/auth/authorize?" + urlencode({**params, "client_id": "nope"})),
    ]
    sign_in(web, "ana")
    pages.append(web.get("/auth/authorize?" + urlencode(params)))

    for response in pages:
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


def test_the_session_cookie_is_httponly_lax_and_secure_under_https(web: Browser_) -> None:
    response = sign_in(web, "ana")

    cookie = [c for c in response.headers.get_list("set-cookie") if "isocenter_session" in c][0]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" in cookie


def test_the_launch_scope_is_not_granted_without_an_ehr_launch(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app, scope="launch launch/patient patient/Patient.rs")

    query = redirect_query(approve(web, params))

    assert exchange(web, public_app, query["code"]).json()["scope"] == (
        "launch/patient patient/Patient.rs"
    )
