"""``/auth/logout`` (OpenID Connect RP-Initiated Logout 1.0): the session ends and the
browser goes only to the app's registered sign-off URL."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from isocenter.auth.sessions import SESSION_COOKIE
from isocenter.auth.tokens import issue_id_token
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import LOGOUT_URL, Browser_, register, sign_in

pytestmark = pytest.mark.usefixtures("users")


def _signed_in(web: Browser_) -> bool:
    return web.get("/auth/manage").status_code == 200


def test_logout_with_the_registered_sign_off_url_redirects_there_with_state(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = {
        "client_id": public_app.client_id,
        "post_logout_redirect_uri": LOGOUT_URL,
        "state": "s 1/2",
    }

    response = web.get("/auth/logout?" + urlencode(params))

    assert response.status_code == 303
    assert response.headers["location"] == LOGOUT_URL + "?state=s+1%2F2"
    assert response.headers["cache-control"] == "no-store"
    assert not _signed_in(web)


def test_logout_to_an_unregistered_url_is_refused_on_a_page(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = {
        "client_id": public_app.client_id,
        "post_logout_redirect_uri": "https://evil.example.com/",
    }

    response = web.get("/auth/logout?" + urlencode(params))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert _signed_in(web)


def test_a_return_address_without_an_app_is_refused(web: Browser_) -> None:
    response = web.get("/auth/logout?" + urlencode({"post_logout_redirect_uri": LOGOUT_URL}))

    assert response.status_code == 400
    assert "location" not in response.headers


def test_an_id_token_hint_names_the_app_even_after_it_expired(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    hint = issue_id_token(
        parts.keys,
        client_id=public_app.client_id,
        username="ana",
        fhir_user=None,
        nonce=None,
        lifetime_seconds=-60,
    )
    params = {"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URL}

    response = web.post("/auth/logout", data=params)

    assert response.status_code == 303
    assert response.headers["location"] == LOGOUT_URL
    assert not _signed_in(web)


def test_a_hint_for_one_app_and_a_client_id_of_another_are_refused(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    other = register(parts, "public")
    hint = issue_id_token(
        parts.keys, client_id=other.client_id, username="ana", fhir_user=None, nonce=None
    )

    response = web.get(
        "/auth/logout?" + urlencode({"id_token_hint": hint, "client_id": public_app.client_id})
    )

    assert response.status_code == 400


def test_a_forged_hint_is_refused(web: Browser_) -> None:
    response = web.get("/auth/logout?" + urlencode({"id_token_hint": "e30.e30.c2ln"}))

    assert response.status_code == 400


def test_an_app_without_a_redirect_request_goes_to_its_sign_off_url(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")

    response = web.get("/auth/logout?" + urlencode({"client_id": public_app.client_id}))

    assert response.headers["location"] == LOGOUT_URL


def test_a_plain_sign_out_shows_the_signed_out_page_and_clears_the_cookie(
    web: Browser_,
) -> None:
    sign_in(web, "ana")

    response = web.post("/auth/logout")

    assert response.status_code == 200
    assert "You are signed out" in response.text
    assert web.cookies.get(SESSION_COOKIE) is None
    assert not _signed_in(web)
