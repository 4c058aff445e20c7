"""The token endpoint: code exchange, refresh, client authentication, response shape.

RFC 6749 §4.1.3-§5.2 and §6, RFC 7636 §4.6, SMART App Launch 2.x app-launch.html
(obtain-access-token, refresh), OpenID Connect Core §2 (id_token).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from isocenter.auth import audit
from isocenter.auth.browser import Browser
from isocenter.auth.clients import App
from isocenter.auth.codes import code_hash
from isocenter.store.schema import authorization_code, refresh_token
from tests.auth.browser_harness import *  # noqa: F403 - fixtures
from tests.auth.browser_harness import (
    BASE_URL,
    FHIR_BASE,
    REDIRECT_URI,
    VERIFIER,
    Browser_,
    code_for,
    exchange,
    register,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("users")


def _claims(token: str, parts: Browser, audience: str) -> dict[str, Any]:
    """Claims of a token verified against the published JWK Set, as an app would."""
    key_set = KeySet.import_key_set(parts.keys.jwks())  # type: ignore[arg-type]
    decoded = jwt.decode(token, key_set, algorithms=["RS256"])
    assert decoded.claims["aud"] == audience
    return dict(decoded.claims)


def _refresh(web: Browser_, app: App, token: str, **extra: str) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": app.client_id}
    return web.post("/auth/token", data={**data, **extra})


def _no_store(response: Any) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


# --- the response ---------------------------------------------------------------------


def test_a_patient_standalone_launch_gets_every_field_smart_lists(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app, nonce="n-0S6_WzA2Mj")

    response = exchange(web, public_app, code)

    assert response.status_code == 200, response.text
    _no_store(response)
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "openid fhirUser launch/patient patient/*.rs offline_access"
    assert body["patient"] == "p1"
    assert body["need_patient_banner"] is True
    assert body["smart_style_url"] == BASE_URL + "/auth/style/default.json"
    assert body["refresh_token"]
    assert "encounter" not in body
    access = _claims(body["access_token"], parts, FHIR_BASE)
    assert (access["patient"], access["client_id"]) == ("p1", public_app.client_id)
    identity = _claims(body["id_token"], parts, public_app.client_id)
    assert identity["iss"] == BASE_URL
    assert identity["sub"] == "ana"
    assert identity["nonce"] == "n-0S6_WzA2Mj"
    assert identity["fhirUser"] == FHIR_BASE + "/Patient/p1"


def test_the_access_token_reads_the_patient_through_the_fhir_api(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    token = exchange(web, public_app, code).json()["access_token"]

    response = web.get("/fhir/Patient/p1", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["id"] == "p1"


def test_without_openid_there_is_no_id_token_and_without_offline_no_refresh_token(
    web: Browser_, public_app: App
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app, scope="launch/patient patient/Patient.rs")

    body = exchange(web, public_app, code).json()

    assert body["scope"] == "launch/patient patient/Patient.rs"
    assert "id_token" not in body and "refresh_token" not in body


def test_a_scope_the_app_did_not_register_is_left_out_of_the_grant(
    web: Browser_, parts: Browser
) -> None:

    limited = register(parts, "public", scopes="launch/patient patient/Patient.rs")
    sign_in(web, "ana")
    code, _ = code_for(web, limited, scope="launch/patient patient/*.rs patient/Patient.rs")

    assert exchange(web, limited, code).json()["scope"] == "launch/patient patient/Patient.rs"


# --- the code: single use, short-lived, bound ------------------------------------------


def test_a_reused_code_is_refused_and_revokes_what_the_first_use_got(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    first = exchange(web, public_app, code).json()

    again = exchange(web, public_app, code)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    _no_store(again)
    jti = _claims(first["access_token"], parts, FHIR_BASE)["jti"]
    assert parts.revocations.is_revoked(jti)
    assert _refresh(web, public_app, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(web: Browser_, public_app: App, parts: Browser) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    with parts.engine.begin() as conn:
        conn.execute(
            update(authorization_code)
            .where(authorization_code.c.code_hash == code_hash(code))
            .values(expires_at=1)
        )

    response = exchange(web, public_app, code)

    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "code has expired",
    }


def test_codes_live_at_most_the_configured_few_minutes(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    with parts.engine.connect() as conn:
        row = conn.execute(
            select(authorization_code).where(authorization_code.c.code_hash == code_hash(code))
        ).one()

    assert row.expires_at - row.created_at == 120 * 1_000_000


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"code_verifier": None}, "code_verifier is required"),
        ({"code_verifier": "w" * 43}, "does not match"),
        ({"code_verifier": VERIFIER[:42]}, "43 to 128"),
        ({"redirect_uri": "https://app.example.com/other"}, "redirect_uri"),
        ({"redirect_uri": None}, "redirect_uri"),
        ({"code": "not-a-code"}, "not known"),
    ],
    ids=[
        "no-verifier",
        "wrong-verifier",
        "short-verifier",
        "other-redirect",
        "no-redirect",
        "unknown-code",
    ],
)
def test_a_code_presented_with_the_wrong_binding_is_invalid_grant(
    web: Browser_, public_app: App, overrides: dict[str, str | None], words: str
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    overrides = dict(overrides)  # the parameter set is shared by both databases' runs
    code = overrides.pop("code", None) or code

    response = exchange(web, public_app, code, **overrides)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert words in response.json()["error_description"]
    _no_store(response)


def test_a_code_issued_to_one_app_is_refused_to_another(
    web: Browser_, public_app: App, parts: Browser
) -> None:

    other = register(parts, "public")
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)

    response = exchange(web, other, code)

    assert response.json()["error"] == "invalid_grant"


# --- client authentication -------------------------------------------------------------


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_a_confidential_app_authenticates_with_basic_or_post(
    web: Browser_, confidential_app: tuple[App, str]
) -> None:
    registered, secret = confidential_app
    sign_in(web, "ana")
    first, _ = code_for(web, registered)
    second, _ = code_for(web, registered)
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    form["code_verifier"] = VERIFIER

    by_basic = web.post(
        "/auth/token",
        data={**form, "code": first},
        headers=_basic(registered.client_id, secret),
    )
    by_post = web.post(
        "/auth/token",
        data={
            **form,
            "code": second,
            "client_id": registered.client_id,
            "client_secret": secret,
        },
    )

    assert by_basic.status_code == 200 and by_post.status_code == 200


def test_a_wrong_client_secret_is_invalid_client(
    web: Browser_, confidential_app: tuple[App, str]
) -> None:
    registered, _secret = confidential_app
    sign_in(web, "ana")
    code, _ = code_for(web, registered)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    by_basic = web.post("/auth/token", data=form, headers=_basic(registered.client_id, "wrong"))
    by_post = web.post(
        "/auth/token",
        data={**form, "client_id": registered.client_id, "client_secret": "wrong"},
    )

    assert by_basic.status_code == 401
    assert by_basic.json()["error"] == "invalid_client"
    assert by_basic.headers["www-authenticate"].startswith("Basic")
    assert by_post.status_code == 401
    assert by_post.json()["error"] == "invalid_client"
    _no_store(by_post)


def test_a_confidential_app_without_its_secret_is_invalid_client(
    web: Browser_, confidential_app: tuple[App, str]
) -> None:
    registered, _secret = confidential_app
    sign_in(web, "ana")
    code, _ = code_for(web, registered)

    response = exchange(web, registered, code)

    assert response.json()["error"] == "invalid_client"


def test_an_app_disabled_after_the_code_was_issued_is_refused(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    parts.apps.disable(public_app.client_id)

    response = exchange(web, public_app, code)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# --- request shape ---------------------------------------------------------------------


def test_a_json_body_is_invalid_request(web: Browser_, public_app: App) -> None:
    response = web.post("/auth/token", json={"grant_type": "authorization_code"})

    assert response.json()["error"] == "invalid_request"
    _no_store(response)


@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"]
)
def test_other_grant_types_are_unsupported(
    web: Browser_, public_app: App, grant_type: str
) -> None:
    response = web.post(
        "/auth/token", data={"grant_type": grant_type, "client_id": public_app.client_id}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_missing_grant_type_is_invalid_request(web: Browser_, public_app: App) -> None:
    response = web.post("/auth/token", data={"client_id": public_app.client_id})

    assert response.json()["error"] == "invalid_request"


# --- refresh ---------------------------------------------------------------------------


def _tokens(web: Browser_, app: App, scope: str) -> dict[str, Any]:
    sign_in(web, "ana")
    code, _ = code_for(web, app, scope=scope)
    body: dict[str, Any] = exchange(web, app, code).json()
    return body


def test_a_refresh_rotates_the_refresh_token_and_keeps_the_grant(
    web: Browser_, public_app: App
) -> None:
    first = _tokens(web, public_app, "launch/patient patient/*.rs offline_access")

    refreshed = _refresh(web, public_app, first["refresh_token"])

    assert refreshed.status_code == 200
    _no_store(refreshed)
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["scope"] == first["scope"]
    assert body["patient"] == "p1"
    assert body["access_token"] != first["access_token"]


def test_a_spent_refresh_token_is_refused_and_its_whole_family_revoked(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    first = _tokens(web, public_app, "launch/patient patient/*.rs offline_access")
    second = _refresh(web, public_app, first["refresh_token"]).json()

    replay = _refresh(web, public_app, first["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _refresh(web, public_app, second["refresh_token"]).json()["error"] == "invalid_grant"
    for token in (first["access_token"], second["access_token"]):
        assert parts.revocations.is_revoked(_claims(token, parts, FHIR_BASE)["jti"])


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(
    web: Browser_, public_app: App
) -> None:
    first = _tokens(
        web, public_app, "launch/patient patient/Patient.rs patient/Condition.rs offline_access"
    )

    wider = _refresh(web, public_app, first["refresh_token"], scope="patient/Observation.rs")
    narrower = _refresh(web, public_app, first["refresh_token"], scope="patient/Patient.rs")

    assert wider.json()["error"] == "invalid_scope"
    assert narrower.status_code == 200  # the refused widening did not spend the token
    assert narrower.json()["scope"] == "patient/Patient.rs"


def test_offline_refresh_tokens_last_the_configured_period_from_each_refresh(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    first = _tokens(web, public_app, "launch/patient patient/*.rs offline_access")
    time.sleep(0.01)
    second = _refresh(web, public_app, first["refresh_token"]).json()

    with parts.engine.connect() as conn:
        rows = conn.execute(select(refresh_token).order_by(refresh_token.c.created_at)).all()
    period = parts.settings.refresh_token_lifetime_seconds * 1_000_000
    assert period >= 90 * 86400 * 1_000_000
    assert [row.expires_at - row.created_at for row in rows] == pytest.approx(
        [period] * 2, abs=10**6
    )
    assert rows[1].expires_at > rows[0].expires_at
    assert second["refresh_token"]


def test_online_access_ends_with_the_sign_in_session(web: Browser_, public_app: App) -> None:
    first = _tokens(web, public_app, "launch/patient patient/*.rs online_access")
    assert _refresh(web, public_app, first["refresh_token"]).status_code == 200
    second = _refresh(web, public_app, first["refresh_token"])  # spent, family revoked
    assert second.json()["error"] == "invalid_grant"

    again = _tokens(web, public_app, "launch/patient patient/*.rs online_access")
    web.get("/auth/logout")

    assert _refresh(web, public_app, again["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_refresh_token_of_one_app_is_refused_to_another(
    web: Browser_, public_app: App, parts: Browser
) -> None:

    other = register(parts, "public")
    first = _tokens(web, public_app, "launch/patient patient/*.rs offline_access")

    response = _refresh(web, other, first["refresh_token"])

    assert response.json()["error"] == "invalid_grant"
    assert _refresh(web, public_app, first["refresh_token"]).status_code == 200


def test_smart_style_url_answers_a_style_document_with_every_smart_field(
    web: Browser_,
) -> None:
    response = web.get("/auth/style/default.json")

    assert response.status_code == 200
    assert set(response.json()) == {
        "color_background",
        "color_error",
        "color_highlight",
        "color_modal_backdrop",
        "color_success",
        "color_text",
        "dim_border_radius",
        "dim_font_size",
        "dim_spacing_size",
        "font_family_body",
        "font_family_heading",
    }


def test_tokens_granted_and_refused_go_to_the_audit_trail(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    sign_in(web, "ana")
    code, _ = code_for(web, public_app)
    exchange(web, public_app, code)
    exchange(web, public_app, code)

    events = audit.recent(parts.engine, actions=["token"])

    assert [(e.outcome, e.client_id) for e in events] == [
        (400, public_app.client_id),
        (200, public_app.client_id),
    ]
    assert (events[1].username, events[1].patient_id) == ("ana", "p1")


def test_a_user_disabled_after_the_grant_gets_no_more_tokens(
    web: Browser_, public_app: App, parts: Browser
) -> None:
    first = _tokens(web, public_app, "launch/patient patient/*.rs offline_access")
    parts.users.disable("ana")

    response = _refresh(web, public_app, first["refresh_token"])

    assert response.json()["error"] == "invalid_grant"
