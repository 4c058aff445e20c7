"""Fixtures for the loader's tests: a store without search indexes and a small matcher.

The unit tests resolve conditional references with ``IdentifierMatcher`` (identifier and
_id queries only, by reading the resource table in the caller's connection), so that they
test the ingest code alone; test_loader.py loads the shared data with the real indexer
and search engine.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
import pytest
from sqlalchemy import Connection, Engine, func, select

from isocenter.search.definitions import load_registry
from isocenter.store import schema
from isocenter.store.index_rows import no_index
from isocenter.store.repository import Store

BASE = "http://test.example/fhir"


class IdentifierMatcher:
    """``matching_ids`` for ``identifier=system|value`` and ``_id=x`` queries."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, str]] = []

    def matching_ids(
        self, resource_type: str, query: str, *, connection: Connection | None = None
    ) -> list[str]:
        assert connection is not None
        self.queries.append((resource_type, query))
        ((name, value),) = parse_qsl(query)
        rows = connection.execute(
            select(schema.resource.c.id, schema.resource.c.content)
            .where(schema.resource.c.resource_type == resource_type)
            .where(schema.resource.c.deleted.is_(False))
            .order_by(schema.resource.c.res_key)
        )
        return [row.id for row in rows if _matches(name, value, row.id, row.content)]


def _matches(name: str, value: str, id: str, content: str) -> bool:
    if name == "_id":
        return id == value
    assert name == "identifier", name
    system, _, code = value.rpartition("|")
    return any(
        identifier.get("system") == system and identifier.get("value") == code
        for identifier in orjson.loads(content).get("identifier", [])
    )


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine, no_index)


@pytest.fixture
def indexed_store(engine: Engine) -> Store:
    """A store with the real search indexer, so index and compartment tables fill up."""
    from isocenter.search.indexer import make_indexer

    return Store(engine, make_indexer(load_registry()))


@pytest.fixture
def matcher() -> IdentifierMatcher:
    return IdentifierMatcher()


@pytest.fixture(scope="session")
def resource_types() -> frozenset[str]:
    return load_registry().resource_types()


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table the store owns."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in schema.metadata.sorted_tables
        }
