"""Status, cancel and files (export.html#bulk-data-status-request, #file-request), and
jobs taken up again after their worker died, swept when expired, run by the thread."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from isocenter.bulk.exporter import JobLost
from isocenter.bulk.service import BulkService
from isocenter.store.schema import export_job
from tests.bulk.conftest import FHIR_BASE, Http, token_for
from tests.bulk.exports import export, kick_off, lines, manifest, run_jobs

# --- polling ----------------------------------------------------------------------


def test_a_running_job_answers_202_with_progress_and_retry_after(
    http: Http, token: str
) -> None:
    status_url = kick_off(http, token)
    response = http.request("GET", status_url, token)
    assert response.status_code == 202
    assert response.headers["X-Progress"]
    assert response.headers["Retry-After"] == "2"


def test_polling_faster_than_retry_after_answers_429(http: Http, token: str) -> None:
    status_url = kick_off(http, token)
    assert http.request("GET", status_url, token).status_code == 202
    response = http.request("GET", status_url, token)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["issue"][0]["code"] == "throttled"


def test_the_manifest_has_absolute_urls_and_an_expires_header(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    run_jobs(service)
    response = http.request("GET", status_url, token)
    assert response.status_code == 200
    assert response.headers["Expires"].endswith("GMT")
    document = response.json()
    assert document["request"] == f"{FHIR_BASE}/$export?_type=Patient"
    [entry] = document["output"]
    assert entry["url"].startswith(FHIR_BASE + "/bulk-files/")
    assert entry == {"type": "Patient", "url": entry["url"], "count": len(loaded)}


def test_a_failed_job_answers_with_an_operation_outcome(
    http: Http, service: BulkService, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    status_url = kick_off(http, token)

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service.exporter, "run", broken)
    run_jobs(service)
    response = http.request("GET", status_url, token)
    assert response.status_code == 500
    assert "RuntimeError" in response.json()["issue"][0]["diagnostics"]
    assert "disk on fire" not in response.text


# --- cancel -----------------------------------------------------------------------


def test_delete_cancels_removes_the_files_and_then_answers_404(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    run_jobs(service)
    document = manifest(http, token, status_url)
    job_id = status_url.rsplit("/", 1)[1]
    folder = service.storage.root / job_id
    assert any(folder.iterdir())
    assert http.request("DELETE", status_url, token).status_code == 202
    assert not folder.exists()
    gone = http.request("GET", status_url, token)
    assert gone.status_code == 404
    assert gone.json()["resourceType"] == "OperationOutcome"
    assert http.request("GET", document["output"][0]["url"], token).status_code == 404
    assert http.request("DELETE", status_url, token).status_code == 404


def test_a_job_cancelled_while_running_stops_and_leaves_no_files(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    status_url = kick_off(http, token)
    job = service.jobs.claim("worker-a")
    assert job is not None
    assert http.request("DELETE", status_url, token).status_code == 202
    with pytest.raises(JobLost):
        service.exporter.run(job, "worker-a")
    service.worker.sweep()
    assert not (service.storage.root / job.job_id).exists()


# --- files ------------------------------------------------------------------------


def test_files_need_a_token_and_belong_to_the_client_that_started_the_job(
    app: Starlette, http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    run_jobs(service)
    url = manifest(http, token, status_url)["output"][0]["url"]
    assert http.request("GET", url, None).status_code == 401
    other = token_for(app, "someone-else")
    assert http.request("GET", url, other).status_code == 404
    assert http.request("GET", status_url, other).status_code == 404
    assert http.request("DELETE", status_url, other).status_code == 404
    assert len(lines(http, token, url)) == len(loaded)


def test_a_range_request_resumes_a_download(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    url = export(http, service, token, params={"_type": "Patient"})["output"][0]["url"]
    whole = http.request("GET", url, token).content
    tail = http.request("GET", url, token, headers={"Range": "bytes=100-"})
    assert tail.status_code == 206
    assert tail.content == whole[100:]


def test_a_file_asked_for_in_another_format_answers_406(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    url = export(http, service, token, params={"_type": "Patient"})["output"][0]["url"]
    response = http.request("GET", url, token, headers={"Accept": "text/csv"})
    assert response.status_code == 406


# --- workers ----------------------------------------------------------------------


def file_bytes(service: BulkService, job_id: str) -> dict[str, bytes]:
    folder = service.storage.root / job_id
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_job_whose_worker_died_is_taken_up_with_no_duplicate_or_missing_line(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    service.exporter.max_per_file = 5
    params = {"_type": "Patient,Condition,Encounter"}
    undisturbed = kick_off(http, token, params=params)
    run_jobs(service)
    expected = file_bytes(service, undisturbed.rsplit("/", 1)[1])

    status_url = kick_off(http, token, params=params)
    job = service.jobs.claim("doomed")
    assert job is not None
    calls = 0
    renew = service.jobs.renew

    def dies_midway(job_id: str, worker_id: str, progress: str) -> bool:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise JobLost(job_id)  # the process is gone: nothing more is written
        return renew(job_id, worker_id, progress)

    service.jobs.renew = dies_midway  # type: ignore[method-assign]
    with pytest.raises(JobLost):
        service.exporter.run(job, "doomed")
    service.jobs.renew = renew  # type: ignore[method-assign]
    with service.jobs.engine.begin() as conn:  # the lease runs out
        conn.execute(update(export_job).values(lease_until=0))
    assert service.worker.run_pending() == 1
    assert manifest(http, token, status_url)["output"]
    assert file_bytes(service, job.job_id) == expected


def test_the_sweep_deletes_expired_jobs_and_their_files(
    http: Http, service: BulkService, token: str, loaded: list[str]
) -> None:
    status_url = kick_off(http, token, params={"_type": "Patient"})
    run_jobs(service)
    job_id = status_url.rsplit("/", 1)[1]
    assert service.worker.sweep() == 0
    with service.jobs.engine.begin() as conn:
        conn.execute(update(export_job).values(expires_at=1))
    assert service.worker.sweep() == 1
    assert not (service.storage.root / job_id).exists()
    assert http.request("GET", status_url, token).status_code == 404


def test_the_in_process_worker_thread_completes_a_job(
    http: Http, service: BulkService, token: str, loaded: list[str], tmp_path: Path
) -> None:
    service.settings = service.settings.with_overrides(export_in_process_worker=True)
    status_url = kick_off(http, token, params={"_type": "Patient"})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(2.1)
            response = http.request("GET", status_url, token)
            if response.status_code == 200:
                break
        assert response.status_code == 200
        assert response.json()["output"][0]["count"] == len(loaded)
    finally:
        service.worker.stop()
