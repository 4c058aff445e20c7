"""Shared fixtures: a real database per test, on SQLite and on PostgreSQL.

Tests that take ``engine`` (or fixtures built on it) run twice, once per database.
PostgreSQL comes from ISOCENTER_TEST_POSTGRES_URL (default: the local server on
127.0.0.1:5432); where none answers, those runs are skipped with the reason shown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from isocenter.store.engine import make_engine, migrate
from isocenter.store.schema import metadata

SHARED_DATA = Path(
    os.environ.get(
        "ISOCENTER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
POSTGRES_URL = os.environ.get(
    "ISOCENTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_database() -> tuple[str | None, str]:
    """Create a throwaway database for this run; return its URL or why there is none."""
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"isocenter_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return None, f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name, name


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url, detail = _postgres_database()
    if url is None:
        pytest.skip(detail)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{detail}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated database: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    postgres: Engine = request.getfixturevalue("postgres_engine")
    _empty_postgres(postgres)
    yield postgres
