"""The patient picker of a clinician's standalone launch asking for ``launch/patient``
(SMART App Launch 2.x, scopes-and-launch-context.html): search by name, birth date or MRN,
choose with a radio button, and the choice becomes the token's ``patient``."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from isocenter.auth.picker import display_name, find_patients
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import (
    Browser_,
    authorize_params,
    consent,
    exchange,
    hidden_fields,
    redirect_query,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("users")


def _picker(web: Browser_, app: App, **overrides: str | None) -> str:
    sign_in(web, "dr-lee")
    page = web.get("/auth/authorize?" + urlencode(authorize_params(app, **overrides)))
    assert page.status_code == 200
    assert "Choose a patient" in page.text
    return page.text


def _search(web: Browser_, page: str, **criteria: str) -> str:
    fields = {**hidden_fields(page, form=0), **criteria}
    assert fields["step"] == "search"
    response = web.post("/auth/authorize", data=fields)
    assert response.status_code == 200
    return response.text


def _choices(page: str) -> list[str]:
    return re.findall(r'name="patient" value="([^"]*)"', page)


@pytest.mark.parametrize(
    ("criteria", "found"),
    [
        ({"name": "rivera"}, ["p1"]),
        ({"name": "Chidi"}, ["p2"]),
        ({"birthdate": "1961-04-12"}, ["p1"]),
        ({"mrn": "MRN-1002"}, ["p2"]),
        ({"name": "Rivera", "birthdate": "1975-09-30"}, []),
    ],
    ids=["family", "given", "birth-date", "mrn", "both-must-match"],
)
def test_a_clinician_finds_patients_by_name_birth_date_or_mrn(
    web: Browser_, public_app: App, criteria: dict[str, str], found: list[str]
) -> None:
    page = _search(web, _picker(web, public_app), **criteria)

    assert _choices(page) == found
    if not found:
        assert "No patient matches" in page


def test_the_chosen_patient_is_the_tokens_patient_with_a_banner(
    web: Browser_, public_app: App
) -> None:
    results = _search(web, _picker(web, public_app), name="Okafor")
    fields = {**hidden_fields(results), "patient": "p2"}

    consent_page = web.post("/auth/authorize", data=fields)
    assert "Chidi Okafor" in consent_page.text
    query = redirect_query(consent(web, consent_page.text))
    body = exchange(web, public_app, query["code"]).json()

    assert body["patient"] == "p2"
    assert body["need_patient_banner"] is True


def test_a_patient_id_that_does_not_exist_brings_the_picker_back(
    web: Browser_, public_app: App
) -> None:
    results = _search(web, _picker(web, public_app), name="Okafor")
    fields = {**hidden_fields(results), "patient": "no-such-patient"}

    response = web.post("/auth/authorize", data=fields)

    assert "Choose a patient" in response.text


def test_a_malformed_birth_date_says_so_on_the_page(web: Browser_, public_app: App) -> None:
    page = _search(web, _picker(web, public_app), birthdate="12/04/1961")

    assert 'class="error"' in page
    assert _choices(page) == []


def test_a_clinician_with_only_user_scopes_gets_no_picker(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "dr-lee")
    params = authorize_params(public_app, scope="openid fhirUser user/*.read")

    page = web.get("/auth/authorize?" + urlencode(params))
    body = exchange(web, public_app, redirect_query(consent(web, page.text))["code"]).json()

    assert "every patient you can see" in page.text
    assert "patient" not in body
    assert body["scope"] == "openid fhirUser user/*.read"


def test_a_patient_user_is_never_shown_the_picker(web: Browser_, public_app: App) -> None:
    sign_in(web, "ana")

    page = web.get("/auth/authorize?" + urlencode(authorize_params(public_app)))

    assert "Choose a patient" not in page.text
    assert hidden_fields(page.text)["step"] == "consent"


def test_find_patients_answers_nothing_without_criteria(parts: Browser) -> None:
    assert find_patients(parts.search) == []


def test_display_name_prefers_the_official_name_and_text() -> None:
    patient = {
        "id": "x",
        "name": [
            {"use": "nickname", "given": ["Annie"]},
            {"use": "official", "text": "Ana María Rivera"},
        ],
    }

    assert display_name(patient) == "Ana María Rivera"
    assert display_name({"id": "y"}) == "Patient y"
