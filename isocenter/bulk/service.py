"""The export side's parts, built once per app (or per ``isocenter worker`` process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import procrastinate
from sqlalchemy import Engine

from isocenter.bulk.exporter import Exporter
from isocenter.bulk.jobs import JobStore
from isocenter.bulk.kickoff import PlanBuilder
from isocenter.bulk.queue import EXPORT_TASK, queue_app
from isocenter.bulk.storage import Storage, storage_for
from isocenter.bulk.worker import Worker
from isocenter.config import Settings
from isocenter.search.definitions import Registry
from isocenter.search.query import QueryParser
from isocenter.store.repository import Store


@dataclass
class BulkService:
    settings: Settings
    store: Store
    jobs: JobStore
    storage: Storage
    exporter: Exporter
    worker: Worker
    plans: PlanBuilder
    # With PostgreSQL: the task queue that ``isocenter worker`` processes take jobs from.
    queue: procrastinate.App | None = None

    def defer(self, job_id: str) -> None:
        """Queue the job's task for worker processes (PostgreSQL only)."""
        if self.queue is None:
            return
        with self.queue.open():
            task: Any = self.queue.tasks[EXPORT_TASK]
            task.configure(queueing_lock=job_id).defer(job_id=job_id)


def build_bulk_service(settings: Settings, store: Store, registry: Registry) -> BulkService:
    engine: Engine = store.engine
    parser = QueryParser(registry, settings.fhir_base_url.rstrip("/"))
    jobs = JobStore(engine)
    storage = storage_for(
        settings.export_storage_url,
        settings.resolved_export_dir,
        settings.export_s3_endpoint_url,
    )
    exporter = Exporter(
        engine, parser, jobs, storage, max_per_file=settings.export_file_max_resources
    )
    worker = Worker(jobs, exporter, storage, expiry_seconds=settings.export_expiry_seconds)

    def read_group(group_id: str) -> dict[str, Any] | None:
        stored = store.read("Group", group_id)
        return None if stored is None or stored.deleted else stored.parsed()

    plans = PlanBuilder(
        registry.resource_types(), exporter.check_query, read_group, settings.fhir_base_url
    )
    queue = None
    if engine.dialect.name == "postgresql":
        url = engine.url.render_as_string(hide_password=False)
        queue = queue_app(url, worker)
    return BulkService(settings, store, jobs, storage, exporter, worker, plans, queue)
