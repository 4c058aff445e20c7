"""The Bulk Data routes: kick-off, status (poll, cancel) and file download.

Mounted before the FHIR routes, so ``$export`` on the system, on Patient and on a Group
reaches this module rather than the FHIR layer's instance routes. Everything is under
``/fhir``, so the auth guard has put the request's ``Access`` on it; a job and its files
belong to the client that started it (another client's requests answer 404).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from isocenter.access import Access
from isocenter.bulk.kickoff import KickOff, parameters_from_body
from isocenter.bulk.manifest import manifest, status_url
from isocenter.bulk.service import BulkService
from isocenter.outcomes import OperationOutcomeError, forbidden, not_found
from isocenter.store.instants import now_microseconds, to_http_date

NDJSON = "application/fhir+ndjson"
_NDJSON_ACCEPTED = frozenset({NDJSON, "application/ndjson", "*/*", "application/*"})


def bulk_routes(prefix: str = "/fhir") -> list[BaseRoute]:
    """export.html: the three kick-off endpoints, the status URL and the files."""
    return [
        Route(f"{prefix}/$export", kick_off, methods=["GET", "POST"]),
        Route(f"{prefix}/Patient/$export", kick_off, methods=["GET", "POST"]),
        Route(f"{prefix}/Group/{{group_id}}/$export", kick_off, methods=["GET", "POST"]),
        Route(f"{prefix}/bulk-status/{{job_id}}", status, methods=["GET", "DELETE"]),
        Route(f"{prefix}/bulk-files/{{job_id}}/{{name}}", download, methods=["GET"]),
    ]


async def kick_off(request: Request) -> Response:
    """export.html#bulk-data-kick-off-request: 202 with the status URL."""
    transaction_time = now_microseconds()
    service = _service(request)
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        params += parameters_from_body(await request.body())
    group_id = request.path_params.get("group_id")
    kind = "group" if group_id else "patient" if "/Patient/" in request.url.path else "system"
    access = _access(request)
    call = KickOff(kind, group_id, dict(request.headers), params, access)
    plan = await run_in_threadpool(service.plans.build, call)
    job_id = await run_in_threadpool(
        service.jobs.create,
        access.client_id,
        plan,
        _request_url(service, request),
        transaction_time,
        max_active=service.settings.export_max_jobs_per_client,
    )
    await run_in_threadpool(service.defer, job_id)
    _wake(service)
    location = status_url(service.settings.fhir_base_url, job_id)
    outcome = _information(f"export started; poll {location}")
    return _json(outcome, 202, {"Content-Location": location}, "application/fhir+json")


async def status(request: Request) -> Response:
    """export.html#bulk-data-status-request (GET) and #bulk-data-delete-request (DELETE)."""
    service = _service(request)
    client_id = _access(request).client_id
    job_id = request.path_params["job_id"]
    if request.method == "DELETE":
        await run_in_threadpool(service.jobs.cancel, job_id, client_id)
        await run_in_threadpool(service.storage.remove_job, job_id)
        return _json(_information(f"export {job_id} cancelled"), 202)
    job = await run_in_threadpool(service.jobs.get, job_id, client_id)
    if job.status in ("queued", "running"):
        retry_after = service.settings.export_retry_after_seconds
        await run_in_threadpool(service.jobs.polled, job, retry_after)
        _wake(service)
        headers = {"X-Progress": job.progress or job.status, "Retry-After": str(retry_after)}
        return Response(status_code=202, headers=headers)
    if job.status == "failed":
        raise OperationOutcomeError(500, "exception", job.error or "the export failed")
    files = await run_in_threadpool(service.jobs.files, job.job_id)
    document = manifest(job, files, service.settings.fhir_base_url)
    headers = {"Expires": to_http_date(job.expires_at or now_microseconds())}
    return _json(document, 200, headers)


async def download(request: Request) -> Response:
    """export.html#file-request: the client's own file, streamed, with Range support."""
    service = _service(request)
    job_id = request.path_params["job_id"]
    name = request.path_params["name"]
    job = await run_in_threadpool(service.jobs.get, job_id, _access(request).client_id)
    exported = await run_in_threadpool(service.jobs.file, job.job_id, name)
    if job.status != "completed" or exported is None:
        raise not_found("export file", name)
    _check_accept(request.headers.get("accept"))
    return service.storage.response(job.job_id, exported.name, request)


def _check_accept(accept: str | None) -> None:
    if not accept:
        return
    kinds = {part.split(";")[0].strip() for part in accept.split(",")}
    if not kinds & _NDJSON_ACCEPTED:
        raise OperationOutcomeError(406, "not-supported", f"export files are {NDJSON}")


def _service(request: Request) -> BulkService:
    service: BulkService | None = getattr(request.app.state, "bulk", None)
    if service is None:
        raise not_found("bulk export")
    return service


def _access(request: Request) -> Access:
    access = getattr(request.state, "access", None)
    if not isinstance(access, Access):
        raise forbidden("no access decision was made for this request")
    return access


def _wake(service: BulkService) -> None:
    if service.settings.export_in_process_worker:
        service.worker.wake()


def _request_url(service: BulkService, request: Request) -> str:
    query = request.url.query
    url = service.settings.base_url.rstrip("/") + request.url.path
    return f"{url}?{query}" if query else url


def _information(diagnostics: str) -> dict[str, Any]:
    issue = {"severity": "information", "code": "informational", "diagnostics": diagnostics}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _json(
    document: dict[str, Any],
    status_code: int,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    return Response(orjson.dumps(document), status_code, headers, media_type=media_type)
