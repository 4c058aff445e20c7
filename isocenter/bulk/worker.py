"""Workers that run export jobs: a thread in the server process, or ``isocenter worker``.

Both take jobs from the database (``JobStore.claim``) under a lease, so any number of
them, in any process on any machine sharing the database, split the jobs between them;
a job whose worker died is taken up once its lease runs out. Each also sweeps expired
and cancelled jobs, deleting their files.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

from isocenter.bulk.exporter import Exporter, JobLost
from isocenter.bulk.jobs import JobStore
from isocenter.bulk.storage import Storage

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 60.0


class Worker:
    def __init__(
        self,
        jobs: JobStore,
        exporter: Exporter,
        storage: Storage,
        *,
        expiry_seconds: int,
        poll_seconds: float = 1.0,
    ) -> None:
        self.jobs = jobs
        self.exporter = exporter
        self.storage = storage
        self.expiry_seconds = expiry_seconds
        self.poll_seconds = poll_seconds
        self.worker_id = secrets.token_hex(8)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._swept_at = 0.0

    def run_pending(self) -> int:
        """Run jobs until none is waiting; returns how many were run."""
        ran = 0
        while not self._stop.is_set():
            job = self.jobs.claim(self.worker_id)
            if job is None:
                return ran
            self.run_claimed(job.job_id)
            ran += 1
        return ran

    def sweep(self) -> int:
        """Delete expired and cancelled jobs with their files (export.html: expiry)."""
        expired = self.jobs.expired()
        for job_id in expired:
            self.storage.remove_job(job_id)
            self.jobs.remove(job_id)
        self._swept_at = time.monotonic()
        return len(expired)

    def wake(self) -> None:
        """Start the background thread if it is not running, and have it look for jobs."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self.loop, name="isocenter-export", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
                if time.monotonic() - self._swept_at > SWEEP_INTERVAL_SECONDS:
                    self.sweep()
            except Exception:
                log.exception("export worker: unexpected error; retrying")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_claimed(self, job_id: str) -> None:
        """Run a job this worker holds the lease of, and record how it ended."""
        job = self.jobs.load(job_id)
        try:
            self.exporter.run(job, self.worker_id)
        except JobLost:
            log.info("export %s: cancelled or taken over; stopped", job_id)
            self._discard_if_cancelled(job_id)
            return
        except Exception as error:
            log.exception("export %s failed", job_id)
            self.jobs.fail(job_id, self.worker_id, _diagnostics(error), self.expiry_seconds)
            return
        if not self.jobs.finish(job_id, self.worker_id, self.expiry_seconds):
            self._discard_if_cancelled(job_id)
            return
        log.info("export %s complete", job_id)

    def _discard_if_cancelled(self, job_id: str) -> None:
        if job_id in self.jobs.expired():
            self.storage.remove_job(job_id)


def _diagnostics(error: Exception) -> str:
    # The class name only: messages of database errors may quote resource content.
    return f"the export failed ({error.__class__.__name__}); the server log has the details"
