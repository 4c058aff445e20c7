"""Export jobs in the database: kick-off, status polls, cancel, leases and expiry.

A job is ``queued``, then ``running`` under a worker's lease, then ``completed``,
``failed`` or ``cancelled``. A worker takes a job with one conditional UPDATE (queued, or
running with its lease run out), so two workers never both hold it, and renews the lease
as it writes; when a worker dies, its lease runs out and another worker takes the job up
where its last complete file ended (see ``exporter``). Cancelled jobs answer 404 at once
and their rows go with the next sweep.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from isocenter.bulk.plan import ExportPlan
from isocenter.outcomes import OperationOutcomeError, not_found
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import export_file, export_job

SECOND = 1_000_000
ACTIVE = ("queued", "running")
FINISHED = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Job:
    job_id: str
    client_id: str | None
    status: str
    request_url: str
    plan: ExportPlan
    transaction_time: int
    expires_at: int | None
    progress: str | None
    error: str | None
    last_polled_at: int | None


@dataclass(frozen=True)
class ExportedFile:
    name: str
    kind: str  # "output" | "deleted" | "error"
    resource_type: str
    seq: int
    count: int
    last_res_key: int
    size: int


def too_many_requests(diagnostics: str, retry_after: int) -> OperationOutcomeError:
    return OperationOutcomeError(
        429, "throttled", diagnostics, headers={"Retry-After": str(retry_after)}
    )


class JobStore:
    def __init__(self, engine: Engine, *, lease_seconds: int = 30) -> None:
        self.engine = engine
        self.lease = lease_seconds * SECOND

    def create(
        self,
        client_id: str | None,
        plan: ExportPlan,
        request_url: str,
        transaction_time: int,
        *,
        max_active: int,
    ) -> str:
        """A queued job; 429 when the client already has ``max_active`` unfinished ones."""
        job_id = secrets.token_urlsafe(18)
        with self.engine.begin() as conn:
            active = conn.execute(
                select(func.count())
                .select_from(export_job)
                .where(_client(client_id), export_job.c.status.in_(ACTIVE))
            ).scalar_one()
            if active >= max_active:
                raise too_many_requests(
                    f"at most {max_active} exports may run at once for a client", 60
                )
            conn.execute(
                insert(export_job).values(
                    job_id=job_id,
                    client_id=client_id,
                    status="queued",
                    request_url=request_url,
                    plan=plan.to_json(),
                    transaction_time=transaction_time,
                    created_at=transaction_time,
                    updated_at=transaction_time,
                )
            )
        return job_id

    def get(self, job_id: str, client_id: str | None) -> Job:
        """The client's job; 404 for a job of another client, cancelled or unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(select(export_job).where(export_job.c.job_id == job_id)).first()
        if row is None or row.status == "cancelled" or row.client_id != client_id:
            raise not_found("export job", job_id)
        return _job(row)

    def polled(self, job: Job, retry_after_seconds: int) -> None:
        """Note a status poll; 429 when it came sooner than the last Retry-After allowed.

        A quarter second of slack covers the client's own timer and the network.
        """
        now = now_microseconds()
        earliest = (job.last_polled_at or 0) + retry_after_seconds * SECOND - SECOND // 4
        if job.last_polled_at is not None and now < earliest:
            wait = max(1, -(-(earliest - now) // SECOND))
            raise too_many_requests("status polled faster than Retry-After allows", wait)
        with self.engine.begin() as conn:
            conn.execute(
                update(export_job)
                .where(export_job.c.job_id == job.job_id)
                .values(last_polled_at=now)
            )

    def cancel(self, job_id: str, client_id: str | None) -> None:
        job = self.get(job_id, client_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(export_job)
                .where(export_job.c.job_id == job.job_id)
                .values(status="cancelled", updated_at=now_microseconds())
            )
            conn.execute(delete(export_file).where(export_file.c.job_id == job.job_id))

    def claim(self, worker_id: str) -> Job | None:
        """Take the oldest queued job, or a running one whose worker's lease ran out."""
        with self.engine.connect() as conn:
            candidates = list(
                conn.execute(
                    select(export_job.c.job_id)
                    .where(_takeable(now_microseconds()))
                    .order_by(export_job.c.created_at)
                    .limit(5)
                ).scalars()
            )
        for job_id in candidates:
            job = self.claim_job(job_id, worker_id)
            if job is not None:
                return job
        return None

    def claim_job(self, job_id: str, worker_id: str) -> Job | None:
        """Take this job if it is queued or its lease ran out; None otherwise."""
        now = now_microseconds()
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(export_job)
                .where(export_job.c.job_id == job_id, _takeable(now))
                .values(status="running", lease_owner=worker_id, lease_until=now + self.lease)
            ).rowcount
        return self.load(job_id) if taken else None

    def running_elsewhere(self, job_id: str) -> bool:
        with self.engine.connect() as conn:
            status = conn.execute(
                select(export_job.c.status).where(export_job.c.job_id == job_id)
            ).scalar()
        return status == "running"

    def renew(self, job_id: str, worker_id: str, progress: str) -> bool:
        """Extend the lease; False when the job was cancelled or taken by another worker."""
        now = now_microseconds()
        with self.engine.begin() as conn:
            kept = conn.execute(
                update(export_job)
                .where(_held(job_id, worker_id))
                .values(lease_until=now + self.lease, progress=progress, updated_at=now)
            ).rowcount
        return bool(kept)

    def finish(self, job_id: str, worker_id: str, expiry_seconds: int) -> bool:
        now = now_microseconds()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(export_job)
                .where(_held(job_id, worker_id))
                .values(
                    status="completed",
                    progress="complete",
                    updated_at=now,
                    expires_at=now + expiry_seconds * SECOND,
                    lease_owner=None,
                    lease_until=None,
                )
            ).rowcount
        return bool(done)

    def fail(self, job_id: str, worker_id: str, error: str, expiry_seconds: int) -> None:
        now = now_microseconds()
        with self.engine.begin() as conn:
            conn.execute(
                update(export_job)
                .where(_held(job_id, worker_id))
                .values(
                    status="failed",
                    error=error,
                    updated_at=now,
                    expires_at=now + expiry_seconds * SECOND,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def add_file(self, job_id: str, exported: ExportedFile) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(export_file).values(job_id=job_id, **exported.__dict__))

    def files(self, job_id: str) -> list[ExportedFile]:
        columns = [export_file.c[name] for name in ExportedFile.__dataclass_fields__]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*columns)
                .where(export_file.c.job_id == job_id)
                .order_by(export_file.c.kind, export_file.c.resource_type, export_file.c.seq)
            )
            return [ExportedFile(*row) for row in rows]

    def file(self, job_id: str, name: str) -> ExportedFile | None:
        return next((f for f in self.files(job_id) if f.name == name), None)

    def expired(self) -> list[str]:
        """Jobs to sweep: finished ones past their expiry, and every cancelled one."""
        now = now_microseconds()
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(export_job.c.job_id).where(
                        or_(
                            export_job.c.status == "cancelled",
                            and_(
                                export_job.c.status.in_(FINISHED),
                                export_job.c.expires_at < now,
                            ),
                        )
                    )
                ).scalars()
            )

    def remove(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(export_file).where(export_file.c.job_id == job_id))
            conn.execute(delete(export_job).where(export_job.c.job_id == job_id))

    def load(self, job_id: str) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(export_job).where(export_job.c.job_id == job_id)).one()
        return _job(row)


def _client(client_id: str | None) -> Any:
    if client_id is None:
        return export_job.c.client_id.is_(None)
    return export_job.c.client_id == client_id


def _takeable(now: int) -> Any:
    return or_(
        export_job.c.status == "queued",
        and_(export_job.c.status == "running", export_job.c.lease_until < now),
    )


def _held(job_id: str, worker_id: str) -> Any:
    return and_(
        export_job.c.job_id == job_id,
        export_job.c.status == "running",
        export_job.c.lease_owner == worker_id,
    )


def _job(row: Any) -> Job:
    return Job(
        job_id=row.job_id,
        client_id=row.client_id,
        status=row.status,
        request_url=row.request_url,
        plan=ExportPlan.from_json(row.plan),
        transaction_time=row.transaction_time,
        expires_at=row.expires_at,
        progress=row.progress,
        error=row.error,
        last_polled_at=row.last_polled_at,
    )
