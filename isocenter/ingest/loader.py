"""``isocenter load``: Bundle, resource and NDJSON files (or folders of them) into the store.

- ``.json``: a Bundle (see ``bundle.load_bundle``: one transaction per file) or a single
  resource (stored under its id). ``.ndjson`` / ``.ndjson.gz``: one resource a line,
  written a few thousand lines per transaction. Folders are walked recursively in sorted
  order. JSON files that are not FHIR (no resourceType: package.json, MANIFEST.json) and
  NDJSON files whose first line is not a resource (an export's log.ndjson) are skipped
  with a note, which is not a failure.
- Conditional references (``Practitioner?identifier=...``) in NDJSON lines and single
  resource files resolve against the store once every file has been read: Bulk Data files
  come in name order (Encounter before Practitioner), and resolving earlier could pick a
  resource that only matches because its rival has not been loaded yet. So such lines are
  set aside (as their text) and written after the last file, in waves until nothing more
  resolves; a reference matching nothing, or more than one resource, is an error for that
  line. Within a Bundle they resolve while the Bundle is processed (FHIR transaction
  semantics).
- Errors are reported as ``file:line`` (NDJSON) or ``file: Bundle.entry[i]`` with the
  reason; a failed Bundle leaves nothing of itself behind and the other files still load.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import orjson
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from isocenter.config import Settings
from isocenter.ingest.bundle import load_bundle
from isocenter.ingest.ndjson import first_line_is_fhir, is_ndjson, read_lines
from isocenter.ingest.prefetch import Prefetcher, PrimedIndexer
from isocenter.ingest.references import (
    ConditionalReferences,
    IdMatcher,
    first_unresolved,
    no_match,
    split_conditional,
    write_in_waves,
)
from isocenter.ingest.validation import check_resource
from isocenter.outcomes import OperationOutcomeError
from isocenter.store.repository import Store, Writer

NDJSON_LINES_PER_SAVEPOINT = 2000
# Commit after about this many resources: fewer commits load faster (each file or NDJSON
# chunk still has its own savepoint, so a failed one leaves nothing behind).
RESOURCES_PER_COMMIT = 5000


@dataclass
class _Prefetching:
    prefetcher: Prefetcher
    primed: PrimedIndexer
    closed: bool = False

    def prime(self, path: Path) -> None:
        self.primed.prime(self.prefetcher.rows_for(path))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.prefetcher.close()
            self.primed.prime({})


@dataclass(frozen=True)
class Problem:
    """Where (``file:line`` or ``file: Bundle.entry[i]``) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class LoadReport:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    files: int = 0
    seconds: float = 0.0

    @property
    def resources(self) -> int:
        return sum(self.counts.values())

    @property
    def per_second(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0


@dataclass
class _Pending:
    """A resource (an NDJSON line or a single-resource file) waiting to be written."""

    where: str
    resource: dict[str, Any]
    holders: list[dict[str, Any]]
    raw: bytes = b""

    def is_conditional(self) -> bool:
        return any(split_conditional(holder["reference"]) for holder in self.holders)


class Loader:
    """Loads files into ``store``; one Loader keeps one run's conditional-reference cache."""

    def __init__(
        self,
        store: Store,
        search: IdMatcher,
        *,
        resource_types: Collection[str],
        fhir_base_url: str,
        progress: bool = False,
        primed: PrimedIndexer | None = None,
    ) -> None:
        self.store = store
        # With the store's indexer a PrimedIndexer, files are indexed a step ahead in a
        # worker process (see prefetch.py).
        self.primed = primed
        self.search = search
        self.resource_types = resource_types
        self.fhir_base_url = fhir_base_url
        self.progress = progress
        self.references = ConditionalReferences(search, resource_types)
        self.report = LoadReport()
        self.deferred: list[tuple[str, bytes]] = []
        self._transaction = ExitStack()
        self._writer: Writer | None = None
        self._uncommitted: Counter[str] = Counter()

    def load(self, paths: Iterable[str | Path]) -> LoadReport:
        started = time.perf_counter()
        files = list(_files(paths))
        prefetcher = self._prefetcher(files)
        try:
            self._load_files(files, prefetcher)
        finally:
            # However the load ends, no worker process outlives it.
            if prefetcher is not None:
                prefetcher.close()
        self.report.files = len(files)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _load_files(self, files: list[Path], prefetcher: _Prefetching | None) -> None:
        total = sum(path.stat().st_size for path in files)
        with (
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                disable=not (self.progress and sys.stderr.isatty()),
                file=sys.stderr,
            ) as bar,
            self._transaction,
        ):
            for path in files:
                if prefetcher is not None:
                    prefetcher.prime(path)
                self._load_file(path)
                bar.update(path.stat().st_size)
                if sum(self._uncommitted.values()) >= RESOURCES_PER_COMMIT:
                    self._commit()
            if prefetcher is not None:
                prefetcher.close()
            self._write_deferred()
            self._commit()

    def _prefetcher(self, files: list[Path]) -> _Prefetching | None:
        if self.primed is None or not Prefetcher.worthwhile(files):
            return None
        return _Prefetching(Prefetcher(files, fhir_base_url=None), self.primed)

    def _current_writer(self) -> Writer:
        if self._writer is None:
            self._writer = self._transaction.enter_context(self.store.writer())
        return self._writer

    def _commit(self) -> None:
        self._transaction.close()
        self._writer = None
        self.report.counts.update(self._uncommitted)
        self._uncommitted.clear()

    def _load_file(self, path: Path) -> None:
        try:
            if is_ndjson(path):
                self._load_ndjson(path)
            else:
                self._load_json(path)
        except OSError as error:
            self._error(str(path), f"cannot read: {error}")
        except SQLAlchemyError as error:
            self._error(str(path), f"database error, nothing of this file kept: {error}")
            self.references.forget()

    def _load_json(self, path: Path) -> None:
        raw = path.read_bytes()
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            self._error(str(path), f"invalid JSON: {error}")
            return
        if not isinstance(value, dict) or "resourceType" not in value:
            self.report.skipped.append(
                Problem(str(path), "not a FHIR resource (no resourceType)")
            )
            return
        if value["resourceType"] == "Bundle":
            self._load_bundle(path, value)
            return
        try:
            holders = check_resource(value, self.resource_types)
        except OperationOutcomeError as error:
            self._error(str(path), error.diagnostics)
            return
        self._write_or_defer([_Pending(str(path), value, holders, raw)])

    def _load_bundle(self, path: Path, bundle: dict[str, Any]) -> None:
        try:
            result = load_bundle(
                self.store,
                self.search,
                bundle,
                fhir_base_url=self.fhir_base_url,
                references=self.references,
                writer=self._current_writer(),
            )
        except OperationOutcomeError as error:
            self._error(str(path), error.diagnostics)
            # What the failed Bundle resolved to was rolled back with it.
            self.references.forget()
            return
        for entry in result.response["entry"]:
            outcome = entry["response"].get("outcome")
            if outcome:
                self._error(str(path), outcome["issue"][0]["diagnostics"])
        self._uncommitted.update(stored.resource_type for stored in result.written)

    def _load_ndjson(self, path: Path) -> None:
        if not first_line_is_fhir(path):
            self.report.skipped.append(
                Problem(str(path), "not FHIR NDJSON (its first line has no resourceType)")
            )
            return
        lines = (self._parsed(f"{path}:{number}", line) for number, line in read_lines(path))
        for chunk in _chunks(lines, NDJSON_LINES_PER_SAVEPOINT):
            self._write_or_defer(chunk)

    def _parsed(self, where: str, line: bytes) -> _Pending | None:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            self._error(where, f"invalid JSON: {error}")
            return None
        try:
            holders = check_resource(value, self.resource_types)
        except OperationOutcomeError as error:
            self._error(where, error.diagnostics)
            return None
        return _Pending(where, value, holders, line)

    def _write_or_defer(self, pending: list[_Pending]) -> None:
        """Write what has no conditional reference; set the rest aside for the end."""
        now = [item for item in pending if not item.is_conditional()]
        self.deferred.extend(
            (item.where, item.raw) for item in pending if item.is_conditional()
        )
        if now:
            self._write(now)

    def _write(self, pending: list[_Pending]) -> list[_Pending]:
        """Write what resolves now in one savepoint; return what does not resolve yet."""
        written: Counter[str] = Counter()
        writer = self._current_writer()
        with writer.connection.begin_nested():

            def put(ready: list[_Pending]) -> None:
                stored = writer.put_many([item.resource for item in ready])
                written.update(version.resource_type for version in stored)

            left = write_in_waves(
                pending,
                _holders_of,
                put,
                self.references,
                writer.connection,
                self._refused,
            )
        self._uncommitted.update(written)
        return left

    def _write_deferred(self) -> None:
        """After the last file: resolve the set-aside conditional references, in waves."""
        # Everything is loaded now; a match remembered earlier may have gained a rival.
        self.references.forget()
        deferred, self.deferred = self.deferred, []
        parsed = (self._parsed(where, raw) for where, raw in deferred)
        left: list[_Pending] = []
        for chunk in _chunks(parsed, NDJSON_LINES_PER_SAVEPOINT):
            left.extend(self._write(chunk))
        while left:
            retried: list[_Pending] = []
            for chunk in _chunks(left, NDJSON_LINES_PER_SAVEPOINT):
                retried.extend(self._write(chunk))
            if len(retried) == len(left):
                break
            left = retried
        for item in left:
            reference = first_unresolved(item.holders) or "?"
            self._error(item.where, no_match(reference).diagnostics)

    def _refused(self, item: _Pending, error: OperationOutcomeError) -> None:
        self._error(item.where, error.diagnostics)

    def _error(self, where: str, reason: str) -> None:
        self.report.errors.append(Problem(where, reason))


def _holders_of(item: _Pending) -> list[dict[str, Any]]:
    return item.holders


def _files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from sorted(
                found for found in path.rglob("*") if found.is_file() and _loadable(found)
            )
        else:
            yield path


def _loadable(path: Path) -> bool:
    return path.suffix == ".json" or is_ndjson(path)


def _chunks(items: Iterable[_Pending | None], size: int) -> Iterator[list[_Pending]]:
    chunk: list[_Pending] = []
    for item in items:
        if item is None:
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def summary(report: LoadReport) -> list[str]:
    """The counts table and totals, as printed at the end of ``isocenter load``."""
    lines = [f"{'resource type':<32} {'written':>9}"]
    for resource_type, count in sorted(report.counts.items()):
        lines.append(f"{resource_type:<32} {count:>9}")
    lines.append(f"{'total':<32} {report.resources:>9}")
    lines.append(
        f"{report.files} files in {report.seconds:.1f} s, "
        f"{report.per_second:,.0f} resources/s; "
        f"{len(report.errors)} errors, {len(report.skipped)} skipped"
    )
    if report.errors:
        lines.append("failed items were not stored; everything else was loaded")
    return lines


def load_paths(
    settings: Settings,
    paths: list[str],
    *,
    progress: bool = True,
    echo: Callable[..., Any] = click.echo,
) -> int:
    """Load ``paths`` into the store ``settings`` names; 0 when all loaded, else 1."""
    from isocenter.search.definitions import load_registry
    from isocenter.search.engine import SearchEngine
    from isocenter.search.indexer import make_indexer
    from isocenter.store.engine import make_engine, migrate

    engine = make_engine(settings.resolved_database_url())
    try:
        migrate(engine)
        registry = load_registry()
        primed = PrimedIndexer(make_indexer(registry))
        store = Store(engine, primed)
        search = SearchEngine(store, registry, fhir_base_url=settings.fhir_base_url)
        loader = Loader(
            store,
            search,
            resource_types=registry.resource_types(),
            fhir_base_url=settings.fhir_base_url,
            progress=progress,
            primed=primed,
        )
        report = loader.load(paths)
    finally:
        engine.dispose()
    for problem in report.skipped:
        echo(f"skipped {problem}", err=True)
    for problem in report.errors:
        echo(f"error {problem}", err=True)
    for line in summary(report):
        echo(line)
    return 1 if report.errors else 0
