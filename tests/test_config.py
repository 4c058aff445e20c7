"""Settings: read once, checked, and links follow where the server listens."""

from __future__ import annotations

import pytest

from isocenter.config import ConfigError, load_settings


def test_base_url_follows_port_when_none_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISOCENTER_BASE_URL", raising=False)
    settings = load_settings().with_overrides(port=9123)
    assert settings.base_url == "http://127.0.0.1:9123"
    assert settings.fhir_base_url == "http://127.0.0.1:9123/fhir"


def test_wildcard_host_links_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISOCENTER_BASE_URL", raising=False)
    assert load_settings().with_overrides(host="0.0.0.0").base_url == "http://127.0.0.1:8080"


def test_configured_base_url_is_never_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOCENTER_BASE_URL", "https://fhir.example.org")
    settings = load_settings().with_overrides(port=9123)
    assert settings.base_url == "https://fhir.example.org"


def test_base_url_flag_wins_over_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISOCENTER_BASE_URL", raising=False)
    settings = (
        load_settings()
        .with_overrides(base_url="https://ehr.example.org")
        .with_overrides(port=1)
    )
    assert settings.base_url == "https://ehr.example.org"


@pytest.mark.parametrize(
    ("name", "value"),
    [("ISOCENTER_PORT", "eighty"), ("ISOCENTER_DEMO", "perhaps"), ("ISOCENTER_PORT", "70000")],
)
def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_settings()


def test_base_url_needs_a_scheme() -> None:
    with pytest.raises(ConfigError):
        load_settings().with_overrides(base_url="fhir.example.org")


def test_backend_tokens_last_five_minutes_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().backend_access_token_lifetime_seconds == 300
    monkeypatch.setenv("ISOCENTER_BACKEND_ACCESS_TOKEN_LIFETIME_SECONDS", "120")
    assert load_settings().backend_access_token_lifetime_seconds == 120
    monkeypatch.setenv("ISOCENTER_BACKEND_ACCESS_TOKEN_LIFETIME_SECONDS", "7200")
    with pytest.raises(ConfigError):
        load_settings()
