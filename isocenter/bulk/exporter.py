"""Running an export job: each type's resources as NDJSON files, read in keyset chunks.

export.html#response---complete-status. Resources are read in ``res_key`` order, a chunk
at a time, and written straight from their stored JSON text (parsed again only for
``_elements``), so memory stays flat whatever the export's size. A file holds at most
``max_per_file`` resources; each is recorded with the last ``res_key`` it holds once it is
complete, so a worker taking the job up continues after the last complete file and writes
neither a duplicate nor a missing line. Only resources with ``lastUpdated`` at or before
the transaction time (and ``_until``) are exported; with ``_since``, the resources deleted
since then go to ``deleted`` files as transaction Bundles of DELETE entries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson
from sqlalchemy import ColumnElement, Engine, and_, false, or_, select, true

from isocenter.bulk.jobs import ExportedFile, Job, JobStore
from isocenter.bulk.plan import ExportPlan, Query
from isocenter.bulk.storage import Storage
from isocenter.fhir.summary import subset
from isocenter.search import clauses
from isocenter.search.query import QueryParser
from isocenter.search.sql import SHARED_TYPES, Context, resource_filter
from isocenter.store import schema
from isocenter.store.engine import READ_ONLY
from isocenter.store.instants import now_microseconds

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000


class JobLost(Exception):
    """The job was cancelled, or its lease passed to another worker: stop writing."""


class Exporter:
    def __init__(
        self,
        engine: Engine,
        parser: QueryParser,
        jobs: JobStore,
        storage: Storage,
        *,
        max_per_file: int,
    ) -> None:
        self.engine = engine
        self.parser = parser
        self.jobs = jobs
        self.storage = storage
        self.max_per_file = max_per_file

    def run(self, job: Job, worker_id: str) -> None:
        """Write every file the job still lacks; raises ``JobLost`` if it is taken away."""
        run = _Run(self, job, worker_id)
        run.errors()
        for resource_type in job.plan.types:
            run.export(resource_type, deleted=False)
        if job.plan.since is not None:
            for resource_type in job.plan.types:
                run.export(resource_type, deleted=True)

    def check_query(self, resource_type: str, query: Query, lenient: bool) -> None:
        """A ``_typeFilter`` query parses as a search of the type (raises otherwise)."""
        self.parser.parse(resource_type, list(query), lenient=lenient)

    def selection(
        self, plan: ExportPlan, resource_type: str, cutoff: int, *, deleted: bool
    ) -> list[ColumnElement[bool]]:
        """The WHERE terms for a type's exported (or deleted) resources."""
        res = schema.resource
        terms = [
            res.c.resource_type == resource_type,
            res.c.last_updated <= cutoff,
            res.c.deleted == (true() if deleted else false()),
        ]
        if plan.since is not None:
            terms.append(res.c.last_updated > plan.since)
        if plan.compartment_limited:
            terms.append(self._in_compartments(plan, resource_type))
        if not deleted:
            for queries in (
                plan.type_filters.get(resource_type),
                plan.restrictions.get(resource_type),
            ):
                if queries:
                    terms.append(or_(*[self._matches(resource_type, q) for q in queries]))
        return terms

    def _matches(self, resource_type: str, query: Query) -> ColumnElement[bool]:
        criteria = self.parser.parse(resource_type, list(query)).criteria
        context = Context(
            self.parser.fhir_base_url, self.engine.dialect.name, now_microseconds()
        )
        return and_(*resource_filter(schema.resource, resource_type, criteria, context))

    def _in_compartments(self, plan: ExportPlan, resource_type: str) -> ColumnElement[bool]:
        res = schema.resource
        if plan.patients is not None and not plan.patients:
            return false()  # a Group without members exports nothing, never everyone
        members = select(schema.compartment.c.res_key)
        if plan.patients is not None:
            members = members.where(schema.compartment.c.patient_id.in_(plan.patients))
        inside = res.c.res_key.in_(members)
        if not (plan.include_shared and resource_type in SHARED_TYPES):
            return inside
        ref = schema.search_reference
        referenced = select(ref.c.target_id).where(
            ref.c.target_type == resource_type,
            clauses.local(ref, self.parser.fhir_base_url),
            ref.c.res_key.in_(members),
        )
        return or_(inside, res.c.id.in_(referenced))


class _Run:
    """One worker's pass over one job."""

    def __init__(self, exporter: Exporter, job: Job, worker_id: str) -> None:
        self.exporter = exporter
        self.job = job
        self.worker_id = worker_id
        self.done = {(f.kind, f.resource_type): f for f in exporter.jobs.files(job.job_id)}
        plan = job.plan
        self.cutoff = min(job.transaction_time, plan.until or job.transaction_time)
        self.written = sum(f.count for f in self.done.values())

    def errors(self) -> None:
        """The notes of lenient handling, as OperationOutcome lines of an error file."""
        if not self.job.plan.issues or ("error", "OperationOutcome") in self.done:
            return
        name = "error-1.ndjson"
        with self.exporter.storage.writing(self.job.job_id, name) as stream:
            for issue in self.job.plan.issues:
                stream.write(orjson.dumps(_outcome(issue)) + b"\n")
        self._record(name, "error", "OperationOutcome", 1, len(self.job.plan.issues), 0)

    def export(self, resource_type: str, *, deleted: bool) -> None:
        kind = "deleted" if deleted else "output"
        last = self.done.get((kind, resource_type))
        if last is not None and last.count < self.exporter.max_per_file:
            return  # its last file was not full: the type is complete
        after = last.last_res_key if last else 0
        seq = last.seq + 1 if last else 1
        terms = self.exporter.selection(
            self.job.plan, resource_type, self.cutoff, deleted=deleted
        )
        write = _deletion if deleted else self._line_writer(resource_type)
        while True:
            name = f"{resource_type}{'-deleted' if deleted else ''}-{seq}.ndjson"
            count, after = self._write_file(name, terms, after, write)
            if count == 0:
                self.exporter.storage.remove(self.job.job_id, name)
                return
            self._record(name, kind, resource_type, seq, count, after)
            if count < self.exporter.max_per_file:
                return
            seq += 1

    def _write_file(
        self,
        name: str,
        terms: list[ColumnElement[bool]],
        after: int,
        write: Callable[[Any], bytes],
    ) -> tuple[int, int]:
        count = 0
        limit = self.exporter.max_per_file
        with self.exporter.storage.writing(self.job.job_id, name) as stream:
            for rows in self._chunks(terms, after, limit):
                _write_lines(stream, [write(row) for row in rows])
                count += len(rows)
                after = rows[-1].res_key
                self._renew(count)
        return count, after

    def _chunks(
        self, terms: list[ColumnElement[bool]], after: int, limit: int
    ) -> Iterator[list[Any]]:
        res = schema.resource
        remaining = limit
        while remaining > 0:
            statement = (
                select(res.c.res_key, res.c.id, res.c.resource_type, res.c.content)
                .where(*terms, res.c.res_key > after)
                .order_by(res.c.res_key)
                .limit(min(CHUNK_SIZE, remaining))
            )
            with self.exporter.engine.connect() as conn:
                conn = conn.execution_options(**{READ_ONLY: True})
                rows = list(conn.execute(statement))
            if not rows:
                return
            yield rows
            remaining -= len(rows)
            after = rows[-1].res_key

    def _line_writer(self, resource_type: str) -> Callable[[Any], bytes]:
        elements = _elements_for(self.job.plan.elements, resource_type)
        if elements is None:
            return _as_stored
        return lambda row: orjson.dumps(subset(orjson.loads(row.content), None, elements))

    def _renew(self, count: int) -> None:
        progress = f"{self.written + count} resources written"
        if not self.exporter.jobs.renew(self.job.job_id, self.worker_id, progress):
            raise JobLost(self.job.job_id)

    def _record(
        self, name: str, kind: str, resource_type: str, seq: int, count: int, last: int
    ) -> None:
        size = self.exporter.storage.size(self.job.job_id, name)
        exported = ExportedFile(name, kind, resource_type, seq, count, last, size)
        self.exporter.jobs.add_file(self.job.job_id, exported)
        self.done[(kind, resource_type)] = exported
        self.written += count if kind != "error" else 0


def _write_lines(stream: BinaryIO, lines: list[bytes]) -> None:
    stream.write(b"\n".join(lines) + b"\n")


def _as_stored(row: Any) -> bytes:
    content: str = row.content
    return content.encode()


def _deletion(row: Any) -> bytes:
    """export.html: a deleted resource as a transaction Bundle with a DELETE entry."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": f"{row.resource_type}/{row.id}"}}],
    }
    return orjson.dumps(bundle)


def _elements_for(elements: list[str] | None, resource_type: str) -> list[str] | None:
    """``_elements`` names for one type: bare names apply to all, ``Type.name`` to one."""
    if elements is None:
        return None
    names = []
    for element in elements:
        owner, dot, name = element.partition(".")
        if not dot:
            names.append(element)
        elif owner == resource_type:
            names.append(name)
    return names or None


def _outcome(diagnostics: str) -> dict[str, Any]:
    issue = {"severity": "warning", "code": "not-supported", "diagnostics": diagnostics}
    return {"resourceType": "OperationOutcome", "issue": [issue]}
