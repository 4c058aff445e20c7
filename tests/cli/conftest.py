"""The ``isocenter`` command run in-process against a SQLite file of its own per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from isocenter.cli import main
from isocenter.store.engine import make_engine

Run = Callable[..., Result]


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
