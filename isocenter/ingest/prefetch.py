"""Index rows worked out ahead, in another process, while the loader writes.

Evaluating search parameters is most of a load's CPU time and the store's writes are most
of the rest; on two cores they can overlap. A worker process reads the next file,
predicts each resource as it will be stored (``urn:uuid`` references rewritten to the
``Type/id`` the loader keeps) and indexes it. The loader's indexer (``PrimedIndexer``)
then looks each resource it stores up by a digest of its content: a match uses the
worker's rows, anything else (a server-assigned id, a conditional reference, a
prediction that was wrong) is indexed on the spot. The digest covers everything the
indexer reads, so a primed answer is always the one the indexer would have given.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from isocenter.ingest.ndjson import is_ndjson, read_lines
from isocenter.ingest.references import LOCAL_URN_PREFIXES
from isocenter.store.index_rows import Indexer, IndexRows

# Files larger than this are indexed as they are written: their rows would not fit the
# loader's memory bound.
LARGEST_PREFETCHED_FILE_BYTES = 64 * 1024 * 1024
# Below this much data, starting a worker process costs more than it saves.
SMALLEST_PREFETCHED_LOAD_BYTES = 8 * 1024 * 1024
_FILES_AHEAD = 2
# Set by the store on every write, so never part of what the indexer reads.
_VERSION_META = ("versionId", "lastUpdated")

Primed = dict[bytes, IndexRows]


def index_key(resource: dict[str, Any]) -> bytes:
    """A digest of the resource as the indexer sees it (version and lastUpdated aside)."""
    body = {key: value for key, value in resource.items() if key != "meta"}
    meta = resource.get("meta")
    if isinstance(meta, dict):
        # The store adds meta to a resource that had none: no meta and an empty one agree.
        meta = {key: value for key, value in meta.items() if key not in _VERSION_META} or None
    digest = hashlib.blake2b(orjson.dumps(body), digest_size=16)
    digest.update(orjson.dumps(meta))
    return digest.digest()


class PrimedIndexer:
    """An indexer that first uses rows worked out ahead for the same content."""

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer
        self.primed: Primed = {}
        self.hits = 0
        self.misses = 0

    def prime(self, rows: Primed) -> None:
        self.primed = rows

    def __call__(self, resource: dict[str, Any]) -> IndexRows:
        if self.primed:
            rows = self.primed.pop(index_key(resource), None)
            if rows is not None:
                self.hits += 1
                return rows
        self.misses += 1
        return self.indexer(resource)


class Prefetcher:
    """Keeps a worker process a couple of files ahead of the loader."""

    def __init__(self, files: list[Path], *, fhir_base_url: str | None) -> None:
        self.files = [path for path in files if _worth_prefetching(path)]
        self.fhir_base_url = fhir_base_url
        self.pending: dict[Path, Future[Primed]] = {}
        self.queue: Iterator[Path] = iter(self.files)
        # spawn: the worker must not inherit the loader's open database connections.
        self.pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        for _ in range(_FILES_AHEAD):
            self._submit_next()

    @classmethod
    def worthwhile(cls, files: list[Path]) -> bool:
        total = sum(path.stat().st_size for path in files if _worth_prefetching(path))
        return total >= SMALLEST_PREFETCHED_LOAD_BYTES and (multiprocessing.cpu_count() > 1)

    def rows_for(self, path: Path) -> Primed:
        """The rows worked out for ``path`` (empty if it was not prefetched or failed)."""
        future = self.pending.pop(path, None)
        self._submit_next()
        if future is None:
            return {}
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - a failed prediction only costs speed
            return {}

    def close(self) -> None:
        for future in self.pending.values():
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _submit_next(self) -> None:
        path = next(self.queue, None)
        if path is None:
            return
        try:
            self.pending[path] = self.pool.submit(prepare, str(path), self.fhir_base_url)
        except Exception:  # noqa: BLE001 - no worker (a broken pool): index as we write
            self.queue = iter(())


def _worth_prefetching(path: Path) -> bool:
    return path.stat().st_size <= LARGEST_PREFETCHED_FILE_BYTES


@functools.cache
def _indexer(fhir_base_url: str | None) -> Indexer:
    from isocenter.search.definitions import load_registry
    from isocenter.search.indexer import make_indexer

    return make_indexer(load_registry(), fhir_base_url)


def prepare(path: str, fhir_base_url: str | None) -> Primed:
    """Worker side: index every resource of one file as the loader will store it."""
    indexer = _indexer(fhir_base_url)
    primed: Primed = {}
    for resource in _predicted_resources(Path(path)):
        try:
            primed[index_key(resource)] = indexer(resource)
        except Exception:  # noqa: BLE001 - the loader indexes (and reports) it itself
            continue
    return primed


def _predicted_resources(path: Path) -> Iterator[dict[str, Any]]:
    if is_ndjson(path):
        for _, line in read_lines(path):
            resource = _loads(line)
            if resource is not None:
                yield resource
        return
    value = _loads(path.read_bytes())
    if value is None:
        return
    if value.get("resourceType") != "Bundle":
        yield value
        return
    yield from _bundle_resources(value)


def _bundle_resources(bundle: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Entries' resources with urn references rewritten as the loader (ids kept) does."""
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    resources = [e.get("resource") for e in entries]
    full_urls: dict[str, str] = {}
    for entry, resource in zip(entries, resources, strict=True):
        full_url = entry.get("fullUrl")
        if not (isinstance(resource, dict) and resource.get("id")):
            continue
        if isinstance(full_url, str) and full_url.startswith(LOCAL_URN_PREFIXES):
            full_urls[full_url] = f"{resource.get('resourceType')}/{resource['id']}"
    for resource in resources:
        if isinstance(resource, dict):
            _rewrite(resource, full_urls)
            yield resource


def _rewrite(value: Any, full_urls: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item in full_urls:
                value[key] = full_urls[item]
            else:
                _rewrite(item, full_urls)
    elif isinstance(value, list):
        for item in value:
            _rewrite(item, full_urls)


def _loads(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
