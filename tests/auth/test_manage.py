"""``/auth/manage`` (SMART ``management_endpoint``): a signed-in user's grants, what each
may read and until when, and revoking one."""

from __future__ import annotations

import re

import pytest

from isocenter.auth import audit
from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from isocenter.auth.sessions import CSRF_COOKIE
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import (
    Browser_,
    code_for,
    exchange,
    hidden_fields,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("users")


def _grant(web: Browser_, app: App, scope: str) -> dict[str, str]:
    code, _ = code_for(web, app, scope=scope)
    body: dict[str, str] = exchange(web, app, code).json()
    return body


def test_without_a_session_the_page_asks_to_sign_in(web: Browser_) -> None:
    response = web.get("/auth/manage")

    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fauth%2Fmanage"


def test_the_page_lists_each_app_what_it_may_read_and_until_when(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    _grant(web, public_app, "launch/patient patient/Observation.rs offline_access")

    page = web.get("/auth/manage")

    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "Cancer Journal" in page.text
    assert "Lab results, vital signs and other observations: read" in page.text
    assert re.search(r"<td>\d\d:\d\d UTC on \d{1,2} \w+ \d{4}</td>", page.text)


def test_revoking_an_app_ends_its_tokens_and_removes_it_from_the_list(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    tokens = _grant(web, public_app, "launch/patient patient/*.rs offline_access")
    page = web.get("/auth/manage").text

    revoked = web.post("/auth/manage", data=hidden_fields(page, form=0))

    assert revoked.status_code == 303
    after = web.get(revoked.headers["location"]).text
    assert "Cancer Journal can no longer read your records" in after
    assert "You have not allowed any app" in after
    refresh = web.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public_app.client_id,
        },
    )
    assert refresh.json()["error"] == "invalid_grant"
    read = web.get(
        "/fhir/Patient/p1", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert read.status_code == 401


def test_another_users_grant_cannot_be_revoked(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    _grant(web, public_app, "launch/patient patient/*.rs")
    fields = hidden_fields(web.get("/auth/manage").text, form=0)
    sign_in(web, "dr-lee")

    web.get("/auth/manage")
    csrf = web.cookies[CSRF_COOKIE]

    response = web.post(
        "/auth/manage",
        data={"csrf_token": csrf, "authorization_id": fields["authorization_id"]},
    )

    assert response.status_code == 400
    sign_in(web, "ana")
    assert "Cancer Journal" in web.get("/auth/manage").text


def test_a_revoke_without_the_csrf_token_is_refused(web: Browser_, public_app: App) -> None:
    sign_in(web, "ana")
    _grant(web, public_app, "launch/patient patient/*.rs")
    fields = hidden_fields(web.get("/auth/manage").text, form=0)
    del fields["csrf_token"]

    response = web.post("/auth/manage", data=fields)

    assert response.status_code == 403
    assert "Cancer Journal" in web.get("/auth/manage").text


def test_a_revocation_goes_to_the_audit_trail(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    _grant(web, public_app, "launch/patient patient/*.rs")

    web.post("/auth/manage", data=hidden_fields(web.get("/auth/manage").text, form=0))

    (event,) = audit.recent(parts.engine, actions=["revoke"])
    assert (event.client_id, event.username, event.patient_id) == (
        public_app.client_id,
        "ana",
        "p1",
    )
