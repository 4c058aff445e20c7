"""The complete-status manifest (export.html#response---complete-status)."""

from __future__ import annotations

from typing import Any

from isocenter.bulk.jobs import ExportedFile, Job
from isocenter.store.instants import to_instant


def manifest(job: Job, files: list[ExportedFile], fhir_base_url: str) -> dict[str, Any]:
    """``output``, ``deleted`` (only with ``_since``) and ``error`` entries, absolute URLs."""
    entries: dict[str, list[dict[str, Any]]] = {"output": [], "deleted": [], "error": []}
    for exported in files:
        entry = {
            "type": exported.resource_type,
            "url": file_url(fhir_base_url, job.job_id, exported.name),
            "count": exported.count,
        }
        entries[exported.kind].append(entry)
    document: dict[str, Any] = {
        "transactionTime": to_instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": entries["output"],
        "error": entries["error"],
    }
    if job.plan.since is not None:
        document["deleted"] = entries["deleted"]
    return document


def status_url(fhir_base_url: str, job_id: str) -> str:
    return f"{fhir_base_url.rstrip('/')}/bulk-status/{job_id}"


def file_url(fhir_base_url: str, job_id: str, name: str) -> str:
    return f"{fhir_base_url.rstrip('/')}/bulk-files/{job_id}/{name}"
