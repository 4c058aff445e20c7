"""``isocenter apps add|list|show|disable|rotate-secret``: output, secrets, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select

from isocenter.store.schema import app as app_table
from isocenter.store.schema import authorization
from tests.cli.conftest import Run

CALLBACK = "https://app.example.org/callback"
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "sXch", "e": "AQAB", "alg": "RS384"}]}


def add(run: Run, *extra: str, client_type: str = "confidential-symmetric") -> dict[str, Any]:
    result = run(
        "apps", "add", "--name", "Growth Chart", "--client-type", client_type,
        "--redirect-uri", CALLBACK, "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_add_prints_the_client_id_and_the_secret_as_json(run: Run) -> None:
    app = add(
        run,
        "--redirect-uri", "http://127.0.0.1:9000/cb",
        "--launch-url", "https://app.example.org/launch",
        "--logout-url", "https://app.example.org/bye",
        "--logo-url", "https://app.example.org/logo.png",
        "--scopes", "launch openid fhirUser patient/*.rs",
    )  # fmt: skip

    assert app["client_id"] and app["client_secret"]
    assert app["client_name"] == "Growth Chart"
    assert app["redirect_uris"] == [CALLBACK, "http://127.0.0.1:9000/cb"]
    assert app["launch_url"] == "https://app.example.org/launch"
    assert app["logout_url"] == "https://app.example.org/bye"
    assert app["scope"] == "launch openid fhirUser patient/*.rs"
    assert app["enabled"] is True


def test_the_secret_is_stored_only_as_a_hash_and_never_shown_again(
    run: Run, cli_engine: Engine
) -> None:
    app = add(run)
    secret = app["client_secret"]

    with cli_engine.connect() as conn:
        stored = conn.execute(select(app_table)).one()
    assert secret not in json.dumps([str(value) for value in stored])
    assert PasswordHasher().verify(stored.secret_hash, secret)
    shown = run("apps", "show", app["client_id"], "--json")
    listed = run("apps", "list", "--json")
    assert secret not in shown.stdout + listed.stdout
    assert "client_secret" not in json.loads(shown.stdout)


def test_plain_text_output_names_the_client_id_and_warns_the_secret_is_shown_once(
    run: Run,
) -> None:
    result = run(
        "apps", "add", "--name", "Chart", "--client-type", "confidential-symmetric",
        "--redirect-uri", CALLBACK,
    )  # fmt: skip

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].startswith("client_id ")
    assert lines[2].startswith("client_secret ")
    assert "shown only this once" in lines[3]


def test_a_public_app_gets_no_secret(run: Run) -> None:
    app = add(run, client_type="public")

    assert "client_secret" not in app


def test_an_asymmetric_app_takes_its_jwk_set_from_a_file(run: Run, tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(JWKS))

    app = add(run, "--jwks-file", str(keys), client_type="confidential-asymmetric")

    assert app["jwks"] == JWKS
    assert "client_secret" not in app


def test_list_and_show_return_the_registration(run: Run) -> None:
    app = add(run)

    listed = json.loads(run("apps", "list", "--json").stdout)
    shown = json.loads(run("apps", "show", app["client_id"], "--json").stdout)

    assert [entry["client_id"] for entry in listed] == [app["client_id"]]
    assert shown["redirect_uris"] == [CALLBACK]
    plain = run("apps", "list").stdout
    assert app["client_id"] in plain and "Growth Chart" in plain


def test_disable_marks_the_app_disabled(run: Run) -> None:
    app = add(run)

    result = run("apps", "disable", app["client_id"])

    assert result.exit_code == 0
    assert (
        json.loads(run("apps", "show", app["client_id"], "--json").stdout)["enabled"] is False
    )


def test_rotate_secret_issues_a_new_secret_and_the_old_one_stops_matching(
    run: Run, cli_engine: Engine
) -> None:
    app = add(run)

    result = run("apps", "rotate-secret", app["client_id"], "--json")

    assert result.exit_code == 0
    rotated = json.loads(result.stdout)["client_secret"]
    assert rotated != app["client_secret"]
    with cli_engine.connect() as conn:
        stored_hash = conn.execute(select(app_table.c.secret_hash)).scalar_one()
    assert PasswordHasher().verify(stored_hash, rotated)


def test_a_public_app_has_no_secret_to_rotate(run: Run) -> None:
    app = add(run, client_type="public")

    result = run("apps", "rotate-secret", app["client_id"])

    assert result.exit_code == 2
    assert "has no secret" in result.stderr


@pytest.mark.parametrize("command", ["show", "disable", "rotate-secret"])
def test_an_unknown_client_id_exits_1(run: Run, command: str) -> None:
    result = run("apps", command, "no-such-app")

    assert result.exit_code == 1
    assert "no app has the client id 'no-such-app'" in result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--redirect-uri", "http://app.example.org/cb"], "must use https"),
        (["--redirect-uri", "/relative"], "not an absolute"),
        ([], "at least one redirect URI"),
        (["--redirect-uri", CALLBACK, "--scopes", "patient/Observation.sr"], "scopes"),
        (["--redirect-uri", CALLBACK, "--jwks-url", "https://a.example/jwks"], "JWK Set"),
    ],
)
def test_bad_input_exits_2_with_the_reason(run: Run, flags: list[str], message: str) -> None:
    result = run("apps", "add", "--name", "X", "--client-type", "public", *flags)

    assert result.exit_code == 2
    assert message in result.stderr
    assert json.loads(run("apps", "list", "--json").stdout) == []


def test_an_unknown_client_type_exits_2(run: Run) -> None:
    result = run("apps", "add", "--name", "X", "--client-type", "confidential")

    assert result.exit_code == 2


def test_jwks_url_and_jwks_file_together_exit_2(run: Run, tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(JWKS))

    result = run(
        "apps", "add", "--name", "X", "--client-type", "confidential-asymmetric",
        "--redirect-uri", CALLBACK, "--jwks-url", "https://a.example/jwks",
        "--jwks-file", str(keys),
    )  # fmt: skip

    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_disable_revokes_the_apps_grants(run: Run, cli_engine: Engine) -> None:
    app = add(run)
    with cli_engine.begin() as conn:
        conn.execute(
            insert(authorization).values(
                authorization_id="g1",
                username="ana",
                client_id=app["client_id"],
                scope="patient/*.rs",
                created_at=1,
            )
        )

    result = run("apps", "disable", app["client_id"])

    assert result.exit_code == 0
    with cli_engine.connect() as conn:
        assert conn.execute(select(authorization.c.revoked_at)).scalar_one() is not None
