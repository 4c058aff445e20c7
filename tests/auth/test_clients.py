"""Registered apps: registration rules, secrets, and client authentication (RFC 6749 §2.3)."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest
from sqlalchemy import Engine, select

from isocenter.auth.clients import App, AppRegistrationError, Apps
from isocenter.auth.errors import InvalidClient, InvalidRequest
from isocenter.store.schema import app as app_table

REDIRECT = "https://app.example.org/callback"
JWKS = {"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB", "kid": "k1"}]}


@pytest.fixture
def apps(engine: Engine) -> Apps:
    return Apps(engine)


def _register(apps: Apps, client_type: str = "confidential-symmetric", **kw: object):
    arguments: dict[str, object] = {
        "name": "Growth Chart",
        "client_type": client_type,
        "redirect_uris": [REDIRECT],
        "scopes": "openid fhirUser launch/patient patient/*.read",
    }
    return apps.register(**{**arguments, **kw})  # type: ignore[arg-type]


def _basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_registration_generates_a_client_id_and_shows_the_secret_once(
    apps: Apps, engine: Engine
) -> None:
    app, secret = _register(apps)

    assert app.client_id and secret
    stored = apps.get(app.client_id)
    assert stored is not None and stored.name == "Growth Chart"
    assert stored.redirect_uris == (REDIRECT,)
    with engine.connect() as conn:
        secret_hash = conn.scalar(select(app_table.c.secret_hash))
    assert secret not in secret_hash and secret_hash.startswith("$argon2")


def test_public_and_asymmetric_apps_get_no_secret(apps: Apps) -> None:
    public, public_secret = _register(apps, "public")
    asymmetric, asymmetric_secret = _register(apps, "confidential-asymmetric", jwks=JWKS)

    assert public_secret is None and asymmetric_secret is None
    assert public.is_public and not asymmetric.is_public
    assert apps.get(asymmetric.client_id).jwks == JWKS  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"name": " "}, "name"),
        ({"client_type": "trusted"}, "client type"),
        ({"redirect_uris": []}, "redirect URI"),
        ({"redirect_uris": ["/callback"]}, "absolute"),
        ({"redirect_uris": ["https://app.example.org/cb#frag"]}, "fragment"),
        ({"redirect_uris": ["http://app.example.org/cb"]}, "https"),
        ({"scopes": "patient/Observation.sr"}, "order"),
        ({"logout_url": "javascript:alert(1)"}, "sign-off"),
        ({"jwks": JWKS}, "JWK Set"),
    ],
)
def test_bad_registrations_are_refused_with_the_reason(
    apps: Apps, overrides: dict[str, object], problem: str
) -> None:
    with pytest.raises(AppRegistrationError, match=problem):
        _register(apps, **overrides)


def test_loopback_and_native_app_redirect_uris_are_accepted(apps: Apps) -> None:
    uris = ["http://127.0.0.1:8765/cb", "http://localhost/cb", "org.example.app:/oauth"]

    app, _ = _register(apps, "public", redirect_uris=uris)

    assert app.redirect_uris == tuple(uris)


def test_an_asymmetric_app_needs_exactly_one_jwk_set_source(apps: Apps) -> None:
    with pytest.raises(AppRegistrationError):
        _register(apps, "confidential-asymmetric")
    with pytest.raises(AppRegistrationError):
        _register(
            apps,
            "confidential-asymmetric",
            jwks=JWKS,
            jwks_url="https://app.example.org/jwks.json",
        )
    app, _ = _register(
        apps, "confidential-asymmetric", jwks_url="https://app.example.org/jwks.json"
    )
    assert app.jwks_url == "https://app.example.org/jwks.json"


def test_client_secret_basic_authenticates(apps: Apps) -> None:
    app, secret = _register(apps)

    found = apps.authenticate({"grant_type": "x"}, _basic(app.client_id, secret or ""))

    assert found.client_id == app.client_id


def test_client_secret_post_authenticates(apps: Apps) -> None:
    app, secret = _register(apps)

    found = apps.authenticate({"client_id": app.client_id, "client_secret": secret or ""}, None)

    assert found.client_id == app.client_id


def test_a_wrong_secret_over_basic_is_invalid_client_401_with_a_basic_challenge(
    apps: Apps,
) -> None:
    app, _ = _register(apps)

    with pytest.raises(InvalidClient) as caught:
        apps.authenticate({}, _basic(app.client_id, "wrong"))

    response = caught.value.response()
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.headers["Cache-Control"] == "no-store"
    assert caught.value.body()["error"] == "invalid_client"


def test_a_wrong_secret_in_the_body_is_invalid_client_without_a_challenge(apps: Apps) -> None:
    app, _ = _register(apps)

    with pytest.raises(InvalidClient) as caught:
        apps.authenticate({"client_id": app.client_id, "client_secret": "wrong"}, None)

    assert caught.value.status == 401
    assert "WWW-Authenticate" not in caught.value.response().headers


@pytest.mark.parametrize(
    "header", ["Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()]
)
def test_malformed_basic_credentials_are_invalid_client(apps: Apps, header: str) -> None:
    with pytest.raises(InvalidClient):
        apps.authenticate({}, header)


def test_two_authentication_methods_at_once_are_an_invalid_request(apps: Apps) -> None:
    app, secret = _register(apps)

    with pytest.raises(InvalidRequest):
        apps.authenticate({"client_secret": secret or ""}, _basic(app.client_id, secret or ""))


def test_an_unknown_client_is_invalid_client(apps: Apps) -> None:
    with pytest.raises(InvalidClient):
        apps.authenticate({"client_id": "nobody", "client_secret": "x"}, None)
    with pytest.raises(InvalidClient):
        apps.authenticate({"client_id": "nobody"}, None)


def test_a_public_client_is_known_by_its_client_id_alone(apps: Apps) -> None:
    app, _ = _register(apps, "public")

    assert apps.authenticate({"client_id": app.client_id}, None).client_id == app.client_id


def test_a_confidential_client_without_its_secret_is_invalid_client(apps: Apps) -> None:
    app, _ = _register(apps)

    with pytest.raises(InvalidClient):
        apps.authenticate({"client_id": app.client_id}, None)


def test_a_disabled_app_cannot_authenticate(apps: Apps) -> None:
    app, secret = _register(apps)
    public, _ = _register(apps, "public")

    apps.disable(app.client_id)
    apps.disable(public.client_id)

    with pytest.raises(InvalidClient, match="disabled"):
        apps.authenticate({}, _basic(app.client_id, secret or ""))
    with pytest.raises(InvalidClient, match="disabled"):
        apps.authenticate({"client_id": public.client_id}, None)


def test_rotating_the_secret_retires_the_old_one(apps: Apps) -> None:
    app, old = _register(apps)

    new = apps.rotate_secret(app.client_id)

    assert new != old
    assert apps.authenticate({}, _basic(app.client_id, new)).client_id == app.client_id
    with pytest.raises(InvalidClient):
        apps.authenticate({}, _basic(app.client_id, old or ""))


def test_only_symmetric_apps_have_a_secret_to_rotate(apps: Apps) -> None:
    app, _ = _register(apps, "public")

    with pytest.raises(AppRegistrationError):
        apps.rotate_secret(app.client_id)


def test_client_assertions_are_refused_until_a_verifier_is_plugged_in(apps: Apps) -> None:
    form = {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "a.b.c",
    }

    with pytest.raises(InvalidClient, match="not supported"):
        apps.authenticate(form, None)


def test_a_plugged_in_assertion_verifier_decides_for_asymmetric_apps(engine: Engine) -> None:
    checked: list[tuple[str, str]] = []

    def verifier(app: App, assertion: str) -> None:
        checked.append((app.client_id, assertion))

    apps = Apps(engine, assertion_verifier=verifier)
    app, _ = _register(apps, "confidential-asymmetric", jwks=JWKS)
    form = {
        "client_id": app.client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "header.payload.signature",
    }

    assert apps.authenticate(form, None).client_id == app.client_id
    assert checked == [(app.client_id, "header.payload.signature")]


def test_update_changes_registration_fields_and_checks_them(apps: Apps) -> None:
    app, _ = _register(apps)

    changed = apps.update(
        app.client_id, name="Growth Chart 2", redirect_uris=[REDIRECT, REDIRECT + "2"]
    )

    assert changed.name == "Growth Chart 2"
    assert apps.get(app.client_id).redirect_uris == (REDIRECT, REDIRECT + "2")  # type: ignore[union-attr]
    with pytest.raises(AppRegistrationError):
        apps.update(app.client_id, client_type="public")
    with pytest.raises(AppRegistrationError):
        apps.update(app.client_id, redirect_uris=["ftp://x"])


def test_list_and_delete(apps: Apps) -> None:
    first, _ = _register(apps)
    second, _ = _register(apps, "public")

    assert [a.client_id for a in apps.list()] == [first.client_id, second.client_id]
    apps.delete(first.client_id)
    assert [a.client_id for a in apps.list()] == [second.client_id]
    with pytest.raises(KeyError):
        apps.delete(first.client_id)


def test_client_ids_never_start_with_a_dash() -> None:
    """A leading '-' made `isocenter apps rotate-secret ID` read the id as an option."""
    from isocenter.auth.clients import new_client_id

    assert not any(new_client_id().startswith("-") for _ in range(2000))
