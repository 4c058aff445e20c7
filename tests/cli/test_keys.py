"""``isocenter keys new|assertion``: a backend client's key pair, registration and assertion."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from isocenter.auth.assertions import ClientAssertions
from isocenter.auth.clients import Apps
from isocenter.auth.jwks_fetch import JwksFetcher
from isocenter.store.engine import make_engine
from tests.cli.conftest import Run

TOKEN_URL = "https://fhir.example.org/auth/token"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


@pytest.mark.parametrize(("alg", "kty"), [("ES384", "EC"), ("RS384", "RSA")])
def test_new_writes_an_owner_only_private_key_and_a_public_jwk_set(
    run: Run, tmp_path: Path, alg: str, kty: str
) -> None:
    result = run("keys", "new", "--out-dir", str(tmp_path / "k"), "--alg", alg, "--kid", "k1")

    assert result.exit_code == 0, result.output
    private = tmp_path / "k" / "private_key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    (key,) = json.loads((tmp_path / "k" / "jwks.json").read_text())["keys"]
    assert key["kty"] == kty and key["kid"] == "k1" and key["alg"] == alg
    assert not PRIVATE_MEMBERS & key.keys()


def test_new_refuses_a_folder_that_already_holds_a_key_pair(run: Run, tmp_path: Path) -> None:
    assert run("keys", "new", "--out-dir", str(tmp_path)).exit_code == 0

    again = run("keys", "new", "--out-dir", str(tmp_path))

    assert again.exit_code == 1
    assert "already holds a key pair" in again.output


def test_a_registered_key_signs_an_assertion_the_server_accepts(
    run: Run, tmp_path: Path, database_url: str
) -> None:
    assert run("keys", "new", "--out-dir", str(tmp_path)).exit_code == 0
    added = run(
        "apps", "add", "--name", "Population health",
        "--client-type", "confidential-asymmetric", "--scopes", "system/*.read",
        "--jwks-file", str(tmp_path / "jwks.json"), "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    client_id = json.loads(added.stdout)["client_id"]

    signed = run(
        "keys", "assertion", "--key", str(tmp_path / "private_key.pem"),
        "--client-id", client_id, "--token-url", TOKEN_URL,
    )  # fmt: skip

    assert signed.exit_code == 0, signed.output
    engine = make_engine(database_url)
    try:
        _verify(engine, client_id, signed.stdout.strip())
    finally:
        engine.dispose()


def _verify(engine: Engine, client_id: str, assertion: str) -> None:
    app = Apps(engine).get(client_id)
    assert app is not None and app.redirect_uris == ()
    verifier = ClientAssertions(engine, token_url=TOKEN_URL, fetcher=JwksFetcher())
    verifier.verify(app, assertion)  # raises InvalidClient if the server would refuse it
