"""Index rows worked out ahead in a worker process equal the ones worked out on the spot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from isocenter.ingest import prefetch
from isocenter.ingest.loader import Loader
from isocenter.ingest.prefetch import PrimedIndexer, index_key
from isocenter.search.definitions import load_registry
from isocenter.search.engine import SearchEngine
from isocenter.search.indexer import make_indexer
from isocenter.store import schema
from isocenter.store.engine import make_engine, migrate
from isocenter.store.repository import Store
from tests.conftest import SHARED_DATA

SYNTHEA = SHARED_DATA / "synthea" / "generated-sample-data"


def test_the_key_ignores_what_the_store_sets_on_every_write() -> None:
    bare = {"resourceType": "Patient", "id": "p", "active": True}
    stored = {**bare, "meta": {"versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z"}}
    assert index_key(bare) == index_key(stored)


def test_the_key_changes_with_anything_the_indexer_reads() -> None:
    bare = {"resourceType": "Patient", "id": "p", "active": True}
    assert index_key(bare) != index_key({**bare, "active": False})
    assert index_key(bare) != index_key({**bare, "meta": {"tag": [{"code": "x"}]}})


def _load(path: Path, database: Path, *, prefetched: bool) -> tuple[Engine, PrimedIndexer]:
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    registry = load_registry()
    primed = PrimedIndexer(make_indexer(registry))
    store = Store(engine, primed)
    loader = Loader(
        store,
        SearchEngine(store, registry, fhir_base_url="http://127.0.0.1:8080/fhir"),
        resource_types=registry.resource_types(),
        fhir_base_url="http://127.0.0.1:8080/fhir",
        primed=primed if prefetched else None,
    )
    report = loader.load([path])
    assert not report.errors
    return engine, primed


def _index_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        names = {
            row.res_key: (row.resource_type, row.id)
            for row in conn.execute(
                select(
                    schema.resource.c.res_key,
                    schema.resource.c.resource_type,
                    schema.resource.c.id,
                )
            )
        }
        tables = {**schema.INDEX_TABLES, "compartment": schema.compartment}
        return {
            kind: sorted(
                (names[row.res_key], *[repr(value) for value in row[1:]])
                for row in conn.execute(select(table))
            )
            for kind, table in tables.items()
        }


def test_a_prefetched_load_stores_exactly_the_same_index_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefetch, "SMALLEST_PREFETCHED_LOAD_BYTES", 0)
    plain, _ = _load(SYNTHEA, tmp_path / "plain.db", prefetched=False)
    ahead, primed = _load(SYNTHEA, tmp_path / "ahead.db", prefetched=True)

    assert primed.hits > 0.9 * (primed.hits + primed.misses)
    assert _index_rows(plain) == _index_rows(ahead)
    plain.dispose()
    ahead.dispose()


def test_small_loads_start_no_worker(tmp_path: Path) -> None:
    _, primed = _load(SYNTHEA, tmp_path / "small.db", prefetched=True)
    assert primed.hits == 0
