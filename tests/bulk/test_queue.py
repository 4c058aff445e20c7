"""With PostgreSQL, a kick-off queues a procrastinate task and a worker process runs it
(``isocenter worker``); a task for a job another worker holds waits for its lease."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, text, update

from isocenter.bulk.queue import QUEUE, LeaseHeld, run_job
from isocenter.bulk.service import BulkService
from isocenter.store.schema import export_job
from tests.bulk.conftest import Http
from tests.bulk.exports import kick_off, manifest


@pytest.fixture
def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the task queue runs on PostgreSQL only")


def queued_tasks(engine: Engine, job_id: str) -> list[str]:
    statement = text("SELECT status FROM procrastinate_jobs WHERE args->>'job_id' = :job_id")
    with engine.connect() as conn:
        return list(conn.execute(statement, {"job_id": job_id}).scalars())


def test_a_queued_export_is_run_by_a_procrastinate_worker(
    postgres_only: None,
    engine: Engine,
    http: Http,
    service: BulkService,
    token: str,
    loaded: list[str],
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    job_id = status_url.rsplit("/", 1)[1]
    assert queued_tasks(engine, job_id) == ["todo"]
    assert service.queue is not None

    service.queue.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)

    assert queued_tasks(engine, job_id) == ["succeeded"]
    document = manifest(http, token, status_url)
    assert document["output"][0]["count"] == len(loaded)


def test_a_task_waits_while_another_worker_holds_the_lease(
    postgres_only: None, http: Http, service: BulkService, token: str
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    job_id = status_url.rsplit("/", 1)[1]
    assert service.jobs.claim_job(job_id, "someone-else") is not None
    with pytest.raises(LeaseHeld):
        run_job(service.worker, job_id)
    assert service.jobs.load(job_id).status == "running"


def test_the_periodic_task_retries_stalled_tasks_and_sweeps_expired_jobs(
    postgres_only: None,
    engine: Engine,
    http: Http,
    service: BulkService,
    token: str,
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    job_id = status_url.rsplit("/", 1)[1]
    service.worker.run_pending()
    with engine.begin() as conn:
        conn.execute(update(export_job).values(expires_at=1))
    assert service.queue is not None
    periodic = service.queue.tasks["isocenter.retry-stalled"]

    async def run() -> None:
        assert service.queue is not None
        async with service.queue.open_async():
            await periodic.func(timestamp=0)

    asyncio.run(run())
    assert http.request("GET", status_url, token).status_code == 404
    assert not (service.storage.root / job_id).exists()
