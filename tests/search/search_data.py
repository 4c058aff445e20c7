"""Shared data for the search engine's tests: real resources from /work/shared/data,
stored with the real indexer, and a search engine over them.

Synthea transaction bundles are read as the loader would store them: each entry under its
own id, ``urn:uuid:`` references rewritten to ``Type/id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from isocenter.search.definitions import load_registry
from isocenter.search.engine import SearchEngine, SearchResult
from isocenter.search.indexer import make_indexer
from isocenter.store.engine import make_engine, migrate
from isocenter.store.repository import Store
from isocenter.store.schema import metadata
from tests.conftest import SHARED_DATA

BASE = "http://test.example/fhir"
US_CORE = SHARED_DATA / "us-core-examples"
MCODE = SHARED_DATA / "mcode-examples" / "mcode-stu4"
SYNTHEA = SHARED_DATA / "synthea" / "bulk-data-server"


def resources_in(path: Path) -> list[dict[str, Any]]:
    """The resources of one file: a resource, or a transaction Bundle's entries."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data["resourceType"] != "Bundle":
        return [data]
    if data["type"] != "transaction":
        return []
    entries = [entry["resource"] for entry in data["entry"]]
    full_urls = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in data["entry"]
    }
    return [_rewritten(resource, full_urls) for resource in entries]


def _rewritten(value: Any, full_urls: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: full_urls.get(item, item)
            if key == "reference"
            else _rewritten(item, full_urls)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewritten(item, full_urls) for item in value]
    return value


def load(store: Store, paths: Iterable[Path]) -> None:
    resources = [resource for path in paths for resource in resources_in(path)]
    with store.writer() as writer:
        writer.put_many(resources)


def new_store(engine: Engine) -> Store:
    return Store(engine, make_indexer(load_registry()))


def search_engine(store: Store, **options: Any) -> SearchEngine:
    return SearchEngine(store, load_registry(), fhir_base_url=BASE, **options)


def ids(result: SearchResult) -> list[str]:
    return sorted(resource.id for resource in result.matches)


def typed_ids(resources: Iterable[Any]) -> list[str]:
    return sorted(f"{resource.resource_type}/{resource.id}" for resource in resources)


def us_core_files() -> list[Path]:
    """The US Core 3.1.1 examples, without their searchset Bundles."""
    return [
        path for path in sorted(US_CORE.glob("*.json")) if not path.name.startswith("Bundle")
    ]


DATABASES = ["sqlite", "postgresql"]
FANNIE = next(SYNTHEA.glob("Fannie_Waelchi_*.json"))
FANNIE_ID = "8666cd40-7af9-48c6-a1a6-86a161195542"


@contextmanager
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An empty database for a module-scoped fixture parametrized over ``DATABASES``.

    Read-only test modules load their data once into it; the PostgreSQL one is the
    session's database, emptied first.
    """
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'test.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    yield engine


def loaded_engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    paths: Iterable[Path],
    extra: Iterable[dict[str, Any]] = (),
) -> Iterator[SearchEngine]:
    """A search engine over the resources of ``paths`` plus ``extra`` ones."""
    with database(request, tmp_path_factory) as engine:
        store = new_store(engine)
        load(store, paths)
        if extra:
            with store.writer() as writer:
                writer.put_many(list(extra))
        yield search_engine(store)
