"""``isocenter worker``: a process of its own runs the jobs the server queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from isocenter.bulk.jobs import JobStore
from isocenter.bulk.plan import ExportPlan
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
