"""Export jobs through procrastinate, the PostgreSQL task queue, for ``isocenter worker``.

With PostgreSQL, a kick-off defers one ``isocenter.export`` task per job; worker processes
(``isocenter worker``, on this machine or others) run them. A task runs its job under the
job's lease (``JobStore``), so a job is written by one worker at a time and resumes after
its last complete file. When a worker process dies, procrastinate sees its heartbeat stop;
the periodic ``isocenter.retry-stalled`` task hands its jobs back to the queue
(procrastinate's stalled-job recipe), and the retried task waits for the dead worker's
lease to run out before it takes the job up. The same periodic task sweeps expired jobs.
"""

from __future__ import annotations

import logging

import procrastinate
from sqlalchemy.engine import make_url

from isocenter.bulk.jobs import JobStore
from isocenter.bulk.worker import Worker

log = logging.getLogger(__name__)

QUEUE = "exports"
EXPORT_TASK = "isocenter.export"
# Seconds without a worker heartbeat before its jobs count as stalled (procrastinate's
# default heartbeat is every 10 s).
STALLED_AFTER_SECONDS = 30


class LeaseHeld(Exception):
    """Another worker still holds the job's lease: the task is retried later."""


def conninfo(database_url: str) -> str:
    """The libpq URL of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def queue_app(database_url: str, worker: Worker | None = None) -> procrastinate.App:
    """A procrastinate app over the database; with ``worker``, its tasks run jobs."""
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    app = procrastinate.App(connector=connector)
    retry = procrastinate.RetryStrategy(max_attempts=100, wait=5, retry_exceptions={LeaseHeld})

    @app.task(name=EXPORT_TASK, queue=QUEUE, retry=retry)
    def export(job_id: str) -> None:
        if worker is None:
            raise RuntimeError("this process only defers export tasks")
        run_job(worker, job_id)

    @app.periodic(cron="* * * * *", periodic_id="retry-stalled")
    @app.task(name="isocenter.retry-stalled", queue=QUEUE, queueing_lock="retry-stalled")
    async def retry_stalled(timestamp: int) -> None:
        stalled = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=STALLED_AFTER_SECONDS
        )
        for job in stalled:
            log.info("export task %s: its worker stopped; retrying", job.id)
            await app.job_manager.retry_job(job)
        if worker is not None:
            worker.sweep()

    return app


def run_job(worker: Worker, job_id: str) -> None:
    """Run one job if it still needs running; ``LeaseHeld`` while another worker has it."""
    jobs: JobStore = worker.jobs
    job = jobs.claim_job(job_id, worker.worker_id)
    if job is None:
        if jobs.running_elsewhere(job_id):
            raise LeaseHeld(job_id)
        return  # finished, failed or cancelled meanwhile
    worker.run_claimed(job_id)
