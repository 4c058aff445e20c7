"""The revocation list: immediate here, within a second elsewhere, whole grants at once."""

from __future__ import annotations

import time

from sqlalchemy import Engine, insert, select

from isocenter.auth.keys import SigningKeys
from isocenter.auth.revocation import RELOAD_SECONDS, RevocationList
from isocenter.auth.tokens import issue_access_token
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import authorization, refresh_token, revoked_token

HOUR = 3600 * 1_000_000


def _grant(engine: Engine, authorization_id: str, client_id: str, username: str) -> None:
    now = now_microseconds()
    with engine.begin() as conn:
        conn.execute(
            insert(authorization).values(
                authorization_id=authorization_id,
                username=username,
                client_id=client_id,
                scope="user/*.read offline_access",
                created_at=now,
            )
        )
        conn.execute(
            insert(refresh_token).values(
                token_hash=f"hash-{authorization_id}",
                authorization_id=authorization_id,
                family_id=f"family-{authorization_id}",
                client_id=client_id,
                scope="user/*.read offline_access",
                created_at=now,
                expires_at=now + HOUR,
            )
        )


def _token(keys: SigningKeys, authorization_id: str, client_id: str) -> str:
    _, jti, _ = issue_access_token(
        keys,
        client_id=client_id,
        username="dr",
        scope="user/*.read",
        patient=None,
        encounter=None,
        fhir_user="Practitioner/pr1",
        authorization_id=authorization_id,
    )
    return jti


def test_a_revocation_is_seen_at_once_by_the_revoking_process(
    revocations: RevocationList,
) -> None:
    assert not revocations.is_revoked("j1")

    revocations.revoke("j1", now_microseconds() + HOUR)

    assert revocations.is_revoked("j1")


def test_another_process_sees_a_revocation_within_a_second(engine: Engine) -> None:
    here, elsewhere = RevocationList(engine), RevocationList(engine)
    assert not elsewhere.is_revoked("j1")

    here.revoke("j1", now_microseconds() + HOUR)
    time.sleep(RELOAD_SECONDS + 0.05)

    assert elsewhere.is_revoked("j1")


def test_revoking_twice_is_harmless(revocations: RevocationList, engine: Engine) -> None:
    revocations.revoke("j1", now_microseconds() + HOUR)
    revocations.revoke("j1", now_microseconds() + HOUR)

    with engine.connect() as conn:
        assert list(conn.scalars(select(revoked_token.c.jti))) == ["j1"]


def test_revoking_a_grant_revokes_its_refresh_and_access_tokens(
    engine: Engine, keys: SigningKeys, revocations: RevocationList
) -> None:
    _grant(engine, "g1", "app-1", "dr")
    _grant(engine, "g2", "app-1", "dr")
    mine, other = _token(keys, "g1", "app-1"), _token(keys, "g2", "app-1")

    assert revocations.revoke_authorization("g1") == 1

    assert revocations.is_revoked(mine) and not revocations.is_revoked(other)
    with engine.connect() as conn:
        revoked = dict(
            conn.execute(
                select(refresh_token.c.authorization_id, refresh_token.c.revoked_at)
            ).all()
        )
        granted = dict(
            conn.execute(
                select(authorization.c.authorization_id, authorization.c.revoked_at)
            ).all()
        )
    assert revoked["g1"] is not None and revoked["g2"] is None
    assert granted["g1"] is not None and granted["g2"] is None


def test_revoking_an_app_or_a_user_reaches_every_grant_of_theirs(
    engine: Engine, keys: SigningKeys, revocations: RevocationList
) -> None:
    _grant(engine, "g1", "app-1", "dr")
    _grant(engine, "g2", "app-2", "dr")
    _grant(engine, "g3", "app-2", "nurse")
    tokens = {
        grant: _token(keys, grant, app)
        for grant, app in [("g1", "app-1"), ("g2", "app-2"), ("g3", "app-2")]
    }

    assert revocations.revoke_client("app-1") == 1
    assert revocations.revoke_user("nurse") == 1

    assert revocations.is_revoked(tokens["g1"]) and revocations.is_revoked(tokens["g3"])
    assert not revocations.is_revoked(tokens["g2"])


def test_expired_rows_are_purged(revocations: RevocationList, engine: Engine) -> None:
    revocations.revoke("old", now_microseconds() - 1)
    revocations.revoke("new", now_microseconds() + HOUR)

    revocations.purge()

    with engine.connect() as conn:
        assert list(conn.scalars(select(revoked_token.c.jti))) == ["new"]
