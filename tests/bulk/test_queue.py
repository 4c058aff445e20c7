"""With PostgreSQL, a kick-off queues a procrastinate task and a worker process runs it
(``isocenter worker``); a task for a job another worker holds waits for its lease."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from isocenter.bulk.queue import QUEUE, LeaseHeld, run_job
from isocenter.bulk.service import BulkService
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
