"""Sign-in sessions, their cookie, CSRF tokens and the sign-in page."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, select
from starlette.responses import Response

from isocenter.auth import audit
from isocenter.auth.browser import Browser
from isocenter.auth.sessions import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Sessions,
    set_session_cookie,
    token_hash,
)
from isocenter.auth.signin import local_path
from isocenter.store.schema import browser_session
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import PASSWORD, Browser_, hidden_fields, sign_in

# --- the session store -----------------------------------------------------------------


def test_a_started_session_is_found_by_its_token(engine: Engine) -> None:
    sessions = Sessions(engine, lifetime_seconds=60)
    token, started = sessions.start("ana")

    assert sessions.find(token) == started
    assert sessions.find("another token") is None
    assert sessions.find(None) is None


def test_only_the_hash_of_the_token_is_stored(engine: Engine) -> None:
    token, _ = Sessions(engine, lifetime_seconds=60).start("ana")

    with engine.connect() as conn:
        stored = conn.execute(select(browser_session.c.session_hash)).scalar_one()

    assert stored == token_hash(token) != token


def test_an_ended_session_is_gone(engine: Engine) -> None:
    sessions = Sessions(engine, lifetime_seconds=60)
    token, _ = sessions.start("ana")

    assert sessions.end(token) is not None
    assert sessions.find(token) is None
    assert sessions.end(token) is None


def test_an_expired_session_is_gone(engine: Engine) -> None:
    sessions = Sessions(engine, lifetime_seconds=1)
    token, _ = sessions.start("ana")
    time.sleep(1.05)

    assert sessions.find(token) is None


# --- the sign-in page ------------------------------------------------------------------


@pytest.mark.usefixtures("users")
def test_signing_in_sets_a_session_cookie_and_goes_to_next(web: Browser_) -> None:
    page = web.get("/auth/signin?next=/ehr")
    fields = {**hidden_fields(page.text), "username": "ana", "password": PASSWORD}

    response = web.post("/auth/signin", data=fields)

    assert response.status_code == 303
    assert response.headers["location"] == "/ehr"
    assert web.cookies.get(SESSION_COOKIE)


@pytest.mark.usefixtures("users")
def test_signing_in_replaces_the_csrf_token(web: Browser_) -> None:
    page = web.get("/auth/signin")
    before = web.cookies.get(CSRF_COOKIE)

    sign_in(web, "ana")

    assert before and web.cookies.get(CSRF_COOKIE) not in (None, before)
    assert page.status_code == 200


@pytest.mark.usefixtures("users")
def test_a_wrong_password_shows_an_error_and_starts_no_session(web: Browser_) -> None:
    response = sign_in(web, "ana", "wrong password")

    assert response.status_code == 200
    assert "not right" in response.text
    assert 'role="alert"' in response.text
    assert web.cookies.get(SESSION_COOKIE) is None


@pytest.mark.usefixtures("users")
def test_repeated_failures_lock_the_account_even_for_the_right_password(
    web: Browser_, parts: Browser
) -> None:
    parts.users.failure_delay_seconds = 0
    for _ in range(parts.users.max_failures):
        sign_in(web, "ana", "wrong password")

    response = sign_in(web, "ana")

    assert "locked" in response.text
    assert web.cookies.get(SESSION_COOKIE) is None


@pytest.mark.usefixtures("users")
def test_a_sign_in_form_without_its_csrf_token_is_refused(web: Browser_) -> None:
    web.get("/auth/signin")

    response = web.post("/auth/signin", data={"username": "ana", "password": PASSWORD})

    assert response.status_code == 403
    assert web.cookies.get(SESSION_COOKIE) is None


def test_the_sign_in_page_is_labelled_and_has_a_skip_link(web: Browser_) -> None:
    page = web.get("/auth/signin").text

    assert '<label for="username">' in page and 'id="username"' in page
    assert '<label for="password">' in page and 'autocomplete="current-password"' in page
    assert '<main id="main"' in page and 'href="#main"' in page
    assert "<script" not in page


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/auth/authorize?client_id=x", "/auth/authorize?client_id=x"),
        ("/ehr", "/ehr"),
        ("https://evil.example.com/", "/auth/manage"),
        ("//evil.example.com/", "/auth/manage"),
        ("/\\evil.example.com/", "/auth/manage"),
        ("javascript:alert(1)", "/auth/manage"),
        (None, "/auth/manage"),
    ],
)
def test_next_is_only_ever_a_path_on_this_server(asked: str | None, kept: str) -> None:
    assert local_path(asked) == kept


@pytest.mark.usefixtures("users")
def test_sign_ins_and_failed_attempts_go_to_the_audit_trail(
    web: Browser_, parts: Browser
) -> None:
    sign_in(web, "ana", "wrong password")
    sign_in(web, "ana")

    events = audit.recent(parts.engine, actions=["login"])

    assert [(e.username, e.outcome) for e in events] == [("ana", 200), ("ana", 401)]


@pytest.mark.usefixtures("users")
def test_signing_in_again_ends_the_browsers_previous_session(
    web: Browser_, parts: Browser
) -> None:
    sign_in(web, "ana")
    first = web.cookies[SESSION_COOKIE]

    sign_in(web, "dr-lee")

    assert parts.sessions.find(first) is None
    assert parts.sessions.find(web.cookies[SESSION_COOKIE]) is not None


def test_the_session_cookie_is_not_marked_secure_under_plain_http(engine: Engine) -> None:
    token, session = Sessions(engine, lifetime_seconds=60).start("ana")
    response = Response()

    set_session_cookie(response, token, session, secure=False)

    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
