"""The ``isocenter`` command: serve, load (more commands join as parts are built)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from isocenter.admin.cli import apps, users
from isocenter.auth.cli import keys
from isocenter.bulk.cli import worker
from isocenter.config import ConfigError, load_settings

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
@click.version_option(package_name="isocenter")
def main() -> None:
    """Isocenter: a FHIR R4 API platform for an oncology EHR."""


@main.command()
@click.option("--host", envvar="ISOCENTER_HOST", help="Interface to listen on.")
@click.option("--port", envvar="ISOCENTER_PORT", type=int, help="Port to listen on.")
@click.option("--workers", envvar="ISOCENTER_WORKERS", type=int, help="Worker processes.")
@click.option("--database-url", envvar="ISOCENTER_DATABASE_URL", help="SQLAlchemy URL.")
@click.option("--base-url", envvar="ISOCENTER_BASE_URL", help="Public base URL for links.")
@click.option("--no-demo", is_flag=True, default=None, help="Do not load the demo cohort.")
@click.option("--tls-cert", type=_FILE, help="PEM certificate chain: serve HTTPS (TLS 1.2+).")
@click.option("--tls-key", type=_FILE, help="PEM private key of --tls-cert.")
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    help="Address of a proxy whose X-Forwarded-* headers are trusted (repeatable).",
)
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    database_url: str | None,
    base_url: str | None,
    no_demo: bool | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    trusted_proxies: tuple[str, ...],
) -> None:
    """Start the FHIR server (loading the demo cohort into an empty store)."""
    from isocenter.app import run

    try:
        settings = load_settings().with_overrides(
            host=host,
            port=port,
            workers=workers,
            database_url=database_url,
            base_url=base_url,
            demo=False if no_demo else None,
            tls_cert=tls_cert,
            tls_key=tls_key,
            trusted_proxies=trusted_proxies or None,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    run(settings)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--database-url", envvar="ISOCENTER_DATABASE_URL", help="SQLAlchemy URL.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def load(paths: tuple[str, ...], database_url: str | None, quiet: bool) -> None:
    """Load Bundle and NDJSON files (or folders of them) into the store."""
    from isocenter.ingest.loader import load_paths

    settings = load_settings().with_overrides(database_url=database_url)
    sys.exit(load_paths(settings, [*paths], progress=not quiet))


main.add_command(apps)
main.add_command(users)
main.add_command(keys)
main.add_command(worker)
