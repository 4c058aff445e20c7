"""App registration fields: what the pages, the API and the CLI all refuse."""

from __future__ import annotations

from typing import Any

import pytest

from isocenter.admin.fields import DEFAULT_SCOPES, InvalidField, app_fields

JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB", "alg": "RS384"}]}


def fields(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Growth Chart",
        "client_type": "public",
        "redirect_uris": ["https://app.example.org/callback"],
        "scopes": "launch/patient patient/Observation.rs openid fhirUser",
        **overrides,
    }


def refused_field(**overrides: Any) -> str:
    with pytest.raises(InvalidField) as caught:
        app_fields(fields(**overrides))
    return caught.value.field


def test_a_complete_registration_is_kept_as_given() -> None:
    checked = app_fields(
        fields(
            launch_url="https://app.example.org/launch",
            logout_url="https://app.example.org/bye",
            logo_url="https://app.example.org/logo.png",
        )
    )

    assert checked.name == "Growth Chart"
    assert checked.redirect_uris == ("https://app.example.org/callback",)
    assert checked.launch_url == "https://app.example.org/launch"
    assert checked.scopes == "launch/patient patient/Observation.rs openid fhirUser"


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9000/cb",
        "http://localhost/cb",
        "http://[::1]:8000/cb",
        "https://app.example.org/cb?x=1",
        "org.example.growth:/callback",
    ],
)
def test_https_loopback_http_and_private_use_redirect_uris_are_accepted(uri: str) -> None:
    assert app_fields(fields(redirect_uris=[uri])).redirect_uris == (uri,)


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example.org/cb",
        "/callback",
        "app.example.org/cb",
        "https://app.example.org/cb#frag",
        "javascript:alert(1)",
        "ftp://app.example.org/cb",
        "org.example.growth:/callback#x",
    ],
)
def test_a_redirect_uri_must_be_absolute_https_or_loopback_http(uri: str) -> None:
    assert refused_field(redirect_uris=[uri]) == "redirect_uris"


def test_several_redirect_uris_are_kept_once_each_in_order() -> None:
    uris = ["https://a.example/cb", "https://b.example/cb", "https://a.example/cb"]

    assert app_fields(fields(redirect_uris=uris)).redirect_uris == tuple(uris[:2])


def test_at_least_one_redirect_uri_is_required() -> None:
    assert refused_field(redirect_uris=[]) == "redirect_uris"


def test_a_backend_service_needs_no_redirect_uri() -> None:
    checked = app_fields(
        fields(client_type="confidential-asymmetric", redirect_uris=[], jwks=JWKS)
    )

    assert checked.redirect_uris == ()


def test_a_name_and_a_known_client_type_are_required() -> None:
    assert refused_field(name="  ") == "name"
    assert refused_field(client_type="confidential") == "client_type"


def test_launch_and_sign_off_urls_follow_the_redirect_uri_rule() -> None:
    assert refused_field(launch_url="http://app.example.org/launch") == "launch_url"
    assert refused_field(logout_url="not a url") == "logout_url"


def test_malformed_scopes_are_refused_and_missing_scopes_get_the_default() -> None:
    assert refused_field(scopes="patient/Observation.sr") == "scopes"
    assert app_fields(fields(scopes="")).scopes == DEFAULT_SCOPES


def test_an_asymmetric_client_needs_exactly_one_jwk_set() -> None:
    asymmetric = {"client_type": "confidential-asymmetric"}

    assert refused_field(**asymmetric) == "jwks"
    assert refused_field(**asymmetric, jwks_url="https://a.example/jwks", jwks=JWKS) == "jwks"
    by_url = app_fields(fields(**asymmetric, jwks_url="https://a.example/jwks"))
    assert by_url.jwks_url == "https://a.example/jwks"
    assert app_fields(fields(**asymmetric, jwks=JWKS)).jwks == JWKS


def test_a_pasted_jwk_set_must_hold_public_keys_only() -> None:
    private = {"keys": [{**JWKS["keys"][0], "d": "secret"}]}

    assert refused_field(client_type="confidential-asymmetric", jwks=private) == "jwks"
    assert refused_field(client_type="confidential-asymmetric", jwks="{not json") == "jwks"
    assert refused_field(client_type="confidential-asymmetric", jwks='{"keys": []}') == "jwks"


def test_other_client_types_take_no_jwk_set() -> None:
    assert refused_field(jwks_url="https://a.example/jwks") == "jwks"
