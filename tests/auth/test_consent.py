"""The consent page: the app's name and logo, what it asks for in plain words, checkboxes
that take a resource type away, how long access lasts, and what is granted after."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from isocenter.auth import consent
from isocenter.auth.clients import App
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import (
    Browser_,
    approve,
    authorize_params,
    exchange,
    redirect_query,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("users")

TYPES = frozenset({"Patient", "Observation", "Condition", "Specimen", "ServiceRequest"})


# --- what the page lists ---------------------------------------------------------------


def test_explicit_types_are_listed_in_plain_words_with_their_access() -> None:
    lines = consent.items("patient/Observation.rs patient/Condition.cruds", TYPES)

    assert [(line.value, line.access) for line in lines] == [
        ("Observation", "read"),
        ("Condition", "read and change"),
    ]
    assert lines[0].label == "Lab results, vital signs and other observations"


def test_a_wildcard_lists_the_us_core_types_and_other_records() -> None:
    lines = consent.items("patient/*.rs", TYPES)

    assert [line.value for line in lines] == ["Condition", "Observation", "Patient", "other"]


def test_a_query_restriction_is_said_in_words() -> None:
    (line,) = consent.items("patient/Observation.rs?category=laboratory", TYPES)

    assert line.only == "category = laboratory"


def test_identity_scopes_are_said_in_words() -> None:
    assert consent.special_words("openid fhirUser launch/patient") == [
        "Know who you are (your account)",
        "Read your own record as the signed-in user",
    ]


# --- what unticking leaves -------------------------------------------------------------


def test_everything_ticked_leaves_the_scope_as_it_was() -> None:
    scope = "launch/patient patient/*.rs"

    assert (
        consent.narrowed(scope, ["Condition", "Observation", "Patient", "other"], TYPES)
        == scope
    )


def test_unticking_a_type_under_a_wildcard_expands_it_without_that_type() -> None:
    scope = "launch/patient patient/*.rs"

    narrowed = consent.narrowed(scope, ["Condition", "Patient", "other"], TYPES)

    assert narrowed == (
        "launch/patient patient/Condition.rs patient/Patient.rs "
        "patient/ServiceRequest.rs patient/Specimen.rs"
    )


def test_unticking_other_records_keeps_only_the_listed_types() -> None:
    narrowed = consent.narrowed("patient/*.rs", ["Condition", "Observation", "Patient"], TYPES)

    assert narrowed == "patient/Condition.rs patient/Observation.rs patient/Patient.rs"


def test_unticking_an_explicit_type_drops_its_scope() -> None:
    narrowed = consent.narrowed(
        "openid patient/Observation.rs patient/Patient.rs", ["Patient"], TYPES
    )

    assert narrowed == "openid patient/Patient.rs"


# --- the page --------------------------------------------------------------------------


def _page(web: Browser_, app: App, **overrides: str | None) -> str:
    sign_in(web, "ana")
    return web.get("/auth/authorize?" + urlencode(authorize_params(app, **overrides))).text


def test_the_page_shows_the_apps_name_logo_and_checkboxes_all_ticked(
    web: Browser_, public_app: App
) -> None:
    page = _page(
        web, public_app, scope="launch/patient patient/Observation.rs patient/Patient.rs"
    )

    assert "Cancer Journal" in page
    assert '<img src="https://app.example.com/logo.png" alt="Cancer Journal logo">' in page
    boxes = re.findall(r'<input type="checkbox" name="type" value="([^"]*)" checked>', page)
    assert boxes == ["Observation", "Patient"]
    assert '<html lang="en">' in page
    assert 'href="#main"' in page


def test_offline_access_is_said_to_outlive_the_session_and_until_when(
    web: Browser_, public_app: App
) -> None:
    page = _page(web, public_app)

    assert "lasts after you sign out" in page
    assert re.search(r"until \d\d:\d\d UTC on \d{1,2} \w+ \d{4}", page)
    assert "another 90 days" in page


def test_online_access_is_said_to_end_with_the_session(web: Browser_, public_app: App) -> None:
    page = _page(web, public_app, scope="launch/patient patient/*.rs online_access")

    assert "ends when you sign out" in page
    assert "lasts after you sign out" not in page


def test_an_unticked_type_is_not_granted(web: Browser_, public_app: App) -> None:
    sign_in(web, "ana")
    params = authorize_params(
        public_app, scope="launch/patient patient/Observation.rs patient/Patient.rs"
    )

    query = redirect_query(approve(web, params, types=["Patient"]))
    body = exchange(web, public_app, query["code"]).json()

    assert body["scope"] == "launch/patient patient/Patient.rs"


def test_a_search_on_a_type_the_user_took_away_answers_403(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app, scope="launch/patient patient/*.rs")
    all_but_observation = ["Patient", "Condition", "other"]

    query = redirect_query(approve(web, params, types=all_but_observation))
    token = exchange(web, public_app, query["code"]).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}

    assert web.get("/fhir/Patient/p1", headers=bearer).status_code == 200
    assert web.get("/fhir/Observation?patient=p1", headers=bearer).status_code == 403


def test_unticking_everything_is_a_denial(web: Browser_, public_app: App) -> None:
    sign_in(web, "ana")
    params = authorize_params(public_app, scope="launch/patient patient/Observation.rs")

    query = redirect_query(approve(web, params, types=[]))

    assert query["error"] == "access_denied"
