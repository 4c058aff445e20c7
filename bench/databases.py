"""The benchmark's databases: a fresh one per run, on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from isocenter.store import schema

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/isocenter_bench"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def fresh_database(url: str) -> str:
    """Remove whatever ``url`` held (a SQLite file, or a PostgreSQL database); return it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return url
    name = parsed.database
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"refusing to recreate database {name!r}")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # DDL cannot take bound parameters; the name was checked to be a plain identifier.
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def reader_engine(url: str) -> Engine:
    """A plain engine for the benchmark's own reads (no BEGIN IMMEDIATE write lock)."""
    return create_engine(url)


def with_database_name(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def stored_resources(engine: Engine) -> int:
    """Current, not deleted resources in Isocenter's ``resource`` table."""
    query = select(func.count()).select_from(schema.resource).where(~schema.resource.c.deleted)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def stored_rows(engine: Engine) -> dict[str, int]:
    """Row counts of every Isocenter table, for the report."""
    counts = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            query = select(func.count()).select_from(table)
            counts[table.name] = int(conn.execute(query).scalar_one())
    return counts


def on_disk_bytes(url: str) -> int | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return sum(
        Path(f"{parsed.database}{suffix}").stat().st_size
        for suffix in ("", "-wal")
        if Path(f"{parsed.database}{suffix}").exists()
    )
