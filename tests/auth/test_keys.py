"""Signing keys: generated once and stored, published as a JWK Set, rotated (RFC 7517)."""

from __future__ import annotations

from pytest import MonkeyPatch
from sqlalchemy import Engine, func, select, update

from isocenter.auth import keys as keys_module
from isocenter.auth.keys import SigningKeys
from isocenter.config import Settings
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import signing_key


def test_first_use_generates_one_rs256_key_and_stores_it(
    keys: SigningKeys, engine: Engine
) -> None:
    key = keys.current()

    assert keys.current().kid == key.kid
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(signing_key)) == 1
        assert conn.scalar(select(signing_key.c.alg)) == "RS256"


def test_another_process_signs_with_the_stored_key(
    keys: SigningKeys, engine: Engine, auth_settings: Settings
) -> None:
    other_process = SigningKeys(engine, auth_settings)

    assert other_process.current().kid == keys.current().kid


def test_jwks_publishes_only_public_parts(keys: SigningKeys) -> None:
    kid = keys.current().kid

    [jwk] = keys.jwks()["keys"]

    assert jwk["kid"] == kid
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert {"n", "e"} <= set(jwk)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


def test_a_rotated_key_stays_published_until_its_tokens_expire(
    keys: SigningKeys, engine: Engine
) -> None:
    old = keys.current()

    new = keys.rotate()

    assert new.kid != old.kid
    assert keys.current().kid == new.kid
    assert [k["kid"] for k in keys.jwks()["keys"]] == [old.kid, new.kid]
    assert keys.public_key(old.kid) is not None
    with engine.connect() as conn:
        publish_until = conn.scalar(
            select(signing_key.c.publish_until).where(signing_key.c.kid == old.kid)
        )
    assert publish_until >= now_microseconds() + keys.token_lifetime_seconds * 1_000_000 - 5e6


def test_a_key_past_publish_until_is_withdrawn(keys: SigningKeys, engine: Engine) -> None:
    old = keys.current()
    keys.rotate()
    with engine.begin() as conn:
        conn.execute(
            update(signing_key)
            .where(signing_key.c.kid == old.kid)
            .values(publish_until=now_microseconds() - 1)
        )

    assert old.kid not in [k["kid"] for k in keys.jwks()["keys"]]
    assert keys.public_key(old.kid) is None


def test_an_unknown_kid_has_no_public_key(keys: SigningKeys) -> None:
    keys.current()

    assert keys.public_key("no-such-kid") is None


def test_a_compromised_key_is_withdrawn_at_once(keys: SigningKeys) -> None:
    old = keys.current()

    new = keys.rotate(compromised=True)

    assert [k["kid"] for k in keys.jwks()["keys"]] == [new.kid]
    assert keys.public_key(old.kid) is None


def test_other_processes_drop_a_withdrawn_key_when_they_reread_the_keys(
    keys: SigningKeys, engine: Engine, auth_settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    old = keys.current()
    other_process = SigningKeys(engine, auth_settings)
    assert other_process.public_key(old.kid) is not None

    keys.rotate(compromised=True)
    monkeypatch.setattr(keys_module, "PUBLIC_KEYS_SECONDS", 0.0)

    assert other_process.public_key(old.kid) is None
