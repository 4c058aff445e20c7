"""Load throughput: ``isocenter load`` beside a plain INSERT of the same JSON text."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from bench.databases import reader_engine, stored_resources
from bench.processes import Finished, run_measured
from isocenter.store.engine import make_engine

# A table with no index but its key: what storing the text alone costs.
_plain_metadata = MetaData()
plain_resource = Table(
    "plain_resource",
    _plain_metadata,
    Column("row_key", Integer, primary_key=True, autoincrement=True),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("content", Text, nullable=False),
)


@dataclass(frozen=True)
class LoadFigures:
    resources: int
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int | None = None

    @property
    def per_second(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Resources per CPU-second used: less sensitive to other work on the machine."""
        return self.resources / self.cpu_seconds if self.cpu_seconds else 0.0


def isocenter_command() -> str:
    return str(Path(sys.executable).with_name("isocenter"))


def run_loader(
    data: Path, database_url: str, *, log_path: Path, timeout_seconds: float
) -> tuple[LoadFigures, Finished]:
    """Time ``isocenter load`` on ``data``; count what it stored."""
    command = [isocenter_command(), "load", "--quiet", "--database-url", database_url]
    finished = run_measured(
        [*command, str(data)],
        env=dict(os.environ),
        log_path=log_path,
        timeout_seconds=timeout_seconds,
    )
    engine = reader_engine(database_url)
    try:
        resources = stored_resources(engine)
    finally:
        engine.dispose()
    figures = LoadFigures(
        resources, finished.seconds, finished.cpu_seconds, finished.peak_rss_bytes
    )
    return figures, finished


def bundle_files(data: Path) -> list[Path]:
    return sorted(data.rglob("*.json"))


def plain_insert(files: list[Path], database_url: str) -> LoadFigures:
    """Parse each bundle and executemany its resources' JSON text, one transaction each."""
    engine = make_engine(database_url)
    _plain_metadata.create_all(engine)
    rows_written = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        for path in files:
            rows = [
                _plain_row(entry["resource"])
                for entry in orjson.loads(path.read_bytes())["entry"]
            ]
            with engine.begin() as conn:
                conn.execute(insert(plain_resource), rows)
            rows_written += len(rows)
    finally:
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        engine.dispose()
    return LoadFigures(rows_written, seconds, cpu_seconds)


def _plain_row(resource: dict) -> dict[str, str]:
    return {
        "resource_type": resource["resourceType"],
        "id": resource["id"],
        "content": orjson.dumps(resource).decode(),
    }
