"""``isocenter worker``: run export jobs in a process of their own.

Any number of these, on this machine or others, share the jobs of one database with the
server's in-process worker: each takes a job under a lease (``JobStore.claim``), and a job
whose worker died is taken up by another once the lease runs out.
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
    from isocenter.bulk.service import build_bulk_service
    from isocenter.store.engine import make_engine, migrate

    try:
        settings = load_settings().with_overrides(database_url=database_url)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    context = fhir_context(settings, engine)
    service = build_bulk_service(settings, context.store, context.registry)
    if once:
        ran = service.worker.run_pending()
        click.echo(f"ran {ran} export job(s)")
        return
    log.info("export worker %s waiting for jobs", service.worker.worker_id)
    try:
        service.worker.loop()
    except KeyboardInterrupt:
        log.info("export worker stopped")
