"""``isocenter worker``: a process of its own runs the jobs the server queued (polling the
jobs table on SQLite, through the procrastinate queue on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from isocenter.bulk.jobs import JobStore
from isocenter.bulk.plan import ExportPlan
from isocenter.bulk.queue import EXPORT_TASK, queue_app
from isocenter.cli import main
from isocenter.store.engine import make_engine, migrate
from isocenter.store.instants import now_microseconds


def test_worker_once_runs_the_queued_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    monkeypatch.setenv("ISOCENTER_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("ISOCENTER_BASE_URL", "https://fhir.example.org")
    engine = make_engine(url)
    migrate(engine)
    jobs = JobStore(engine)
    plan = ExportPlan(kind="system", types=["Patient"])
    job_id = jobs.create(None, plan, "https://x/fhir/$export", now_microseconds(), max_active=1)

    result = CliRunner().invoke(main, ["worker", "--once", "--database-url", url])

    assert result.exit_code == 0, result.output
    assert "ran 1 export job(s)" in result.output
    assert jobs.load(job_id).status == "completed"
    engine.dispose()


def test_worker_once_on_postgresql_takes_jobs_through_the_queue(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOCENTER_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("ISOCENTER_BASE_URL", "https://fhir.example.org")
    engine = make_engine(postgres_url)
    jobs = JobStore(engine)
    plan = ExportPlan(kind="system", types=["Patient"])
    job_id = jobs.create(
        None, plan, "https://x/fhir/$export", now_microseconds(), max_active=99
    )
    queue = queue_app(postgres_url)
    with queue.open():
        queue.tasks[EXPORT_TASK].configure(queueing_lock=job_id).defer(job_id=job_id)

    result = CliRunner().invoke(main, ["worker", "--once", "--database-url", postgres_url])

    assert result.exit_code == 0, result.output
    assert jobs.load(job_id).status == "completed"
    engine.dispose()
