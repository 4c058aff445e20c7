"""Connections for the auth tables: reads that take no write lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from isocenter.store.engine import READ_ONLY


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it begins deferred, so writers are not held."""
    with engine.connect() as conn:
        yield conn.execution_options(**{READ_ONLY: True})
