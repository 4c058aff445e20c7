"""``isocenter worker``: run export jobs in a process of their own.

With PostgreSQL they take jobs through procrastinate (``isocenter.bulk.queue``); with
SQLite they poll the jobs table. Either way a job runs under its lease (``JobStore``), so
any number of workers, and the server's in-process worker, share the jobs of one database,
and a job whose worker died is taken up by another once the lease runs out.
"""

from __future__ import annotations

import logging

import click

from isocenter.config import ConfigError, load_settings

log = logging.getLogger(__name__)


@click.command()
@click.option("--database-url", envvar="ISOCENTER_DATABASE_URL", help="SQLAlchemy URL.")
@click.option("--once", is_flag=True, help="Run the waiting jobs, then exit.")
def worker(database_url: str | None, once: bool) -> None:
    """Run Bulk Data export jobs from the database until stopped."""
    from isocenter.app import fhir_context
    from isocenter.bulk.queue import QUEUE
    from isocenter.bulk.service import build_bulk_service
    from isocenter.store.engine import make_engine, migrate

    try:
        settings = load_settings().with_overrides(database_url=database_url)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = make_engine(settings.resolved_database_url())
    # Closed with the command: pooled connections left to the garbage collector stay open.
    click.get_current_context().call_on_close(engine.dispose)
    migrate(engine)
    context = fhir_context(settings, engine)
    service = build_bulk_service(settings, context.store, context.registry)
    if service.queue is not None:
        # PostgreSQL: take jobs through procrastinate (isocenter.bulk.queue).
        log.info("export worker %s taking jobs from the queue", service.worker.worker_id)
        service.queue.run_worker(queues=[QUEUE], wait=not once, install_signal_handlers=True)
        return
    if once:
        ran = service.worker.run_pending()
        click.echo(f"ran {ran} export job(s)")
        return
    log.info("export worker %s waiting for jobs", service.worker.worker_id)
    try:
        service.worker.loop()
    except KeyboardInterrupt:
        log.info("export worker stopped")
