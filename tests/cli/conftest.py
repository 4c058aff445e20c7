"""The ``isocenter`` command run in-process against a SQLite file of its own per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from isocenter.auth import clients as clients_module
from isocenter.auth import users as users_module
from isocenter.cli import main
from isocenter.store.engine import make_engine

Run = Callable[..., Result]
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its lightest: these tests check the commands, not the hash's cost."""
    monkeypatch.setattr(users_module, "_hasher", FAST_HASHER)
    monkeypatch.setattr(clients_module, "_hasher", FAST_HASHER)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def run(database_url: str) -> Run:
    """``run("apps", "list", "--json", input=...)`` with the test's database."""

    def invoke(*args: str, input: str | None = None) -> Result:
        env = {"ISOCENTER_DATABASE_URL": database_url}
        return CliRunner().invoke(main, list(args), input=input, env=env)

    return invoke


@pytest.fixture
def cli_engine(database_url: str, run: Run) -> Engine:
    """The test database, migrated (by a first command), for looking inside."""
    run("apps", "list")
    return make_engine(database_url)
