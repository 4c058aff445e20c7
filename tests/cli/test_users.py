"""``isocenter users add|list|disable``: password from standard input, links, exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select

from isocenter.store.instants import now_microseconds
from isocenter.store.schema import resource, user_account
from tests.cli.conftest import Run

PASSWORD = "correct horse battery"


@pytest.fixture
def linked(cli_engine: Engine) -> Engine:
    """The database with a Patient/p1 and a Practitioner/dr1 to link users to."""
    with cli_engine.begin() as conn:
        for resource_type, id in (("Patient", "p1"), ("Practitioner", "dr1")):
            conn.execute(
                insert(resource).values(
                    resource_type=resource_type,
                    id=id,
                    version_id=1,
                    last_updated=now_microseconds(),
                    deleted=False,
                    content=json.dumps({"resourceType": resource_type, "id": id}),
                )
            )
    return cli_engine


def add(run: Run, *flags: str, password: str = PASSWORD) -> Any:
    return run("users", "add", *flags, input=password + "\n")


def test_a_clinician_is_added_with_the_password_from_standard_input(
    run: Run, linked: Engine
) -> None:
    result = add(run, "--username", "dr-a", "--role", "clinician", "--practitioner", "dr1")

    assert result.exit_code == 0, result.stderr
    with linked.connect() as conn:
        row = conn.execute(select(user_account)).one()
    assert (row.role, row.practitioner_id) == ("clinician", "dr1")
    assert PasswordHasher().verify(row.password_hash, PASSWORD)
    assert PASSWORD not in result.stdout + result.stderr


def test_users_of_each_role_are_listed_as_json_without_passwords(
    run: Run, linked: Engine
) -> None:
    add(run, "--username", "pat", "--role", "patient", "--patient", "p1")
    add(run, "--username", "root", "--role", "admin")

    result = run("users", "list", "--json")

    listed = json.loads(result.stdout)
    assert [(u["username"], u["role"], u["patient_id"]) for u in listed] == [
        ("pat", "patient", "p1"),
        ("root", "admin", None),
    ]
    assert "password" not in result.stdout


def test_add_with_json_prints_the_user(run: Run, linked: Engine) -> None:
    result = add(run, "--username", "pat", "--role", "patient", "--patient", "p1", "--json")

    assert json.loads(result.stdout)["patient_id"] == "p1"


def test_disable_marks_the_user_disabled(run: Run, linked: Engine) -> None:
    add(run, "--username", "pat", "--role", "patient", "--patient", "p1")

    result = run("users", "disable", "pat")

    assert result.exit_code == 0
    assert json.loads(run("users", "list", "--json").stdout)[0]["enabled"] is False


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--role", "patient"], "needs --patient"),
        (["--role", "clinician"], "needs --practitioner"),
        (["--role", "admin", "--patient", "p1"], "linked to no Patient"),
        (["--role", "patient", "--patient", "p1", "--practitioner", "dr1"], "not both"),
        (["--role", "patient", "--patient", "nobody"], "no Patient/nobody"),
        (["--role", "clinician", "--practitioner", "p1"], "no Practitioner/p1"),
        (["--role", "nurse"], "nurse"),
    ],
)
def test_a_wrong_role_or_link_exits_2(
    run: Run, linked: Engine, flags: list[str], message: str
) -> None:
    result = add(run, "--username", "u", *flags)

    assert result.exit_code == 2
    assert message in result.stderr
    assert json.loads(run("users", "list", "--json").stdout) == []


def test_a_short_or_empty_password_exits_2(run: Run, linked: Engine) -> None:
    assert add(run, "--username", "root", "--role", "admin", password="").exit_code == 2
    assert add(run, "--username", "root", "--role", "admin", password="short").exit_code == 2


def test_a_taken_username_exits_1(run: Run, linked: Engine) -> None:
    add(run, "--username", "root", "--role", "admin")

    result = add(run, "--username", "root", "--role", "admin")

    assert result.exit_code == 1
    assert "taken" in result.stderr


def test_disabling_an_unknown_user_exits_1(run: Run, linked: Engine) -> None:
    assert run("users", "disable", "nobody").exit_code == 1
