"""Read by id over HTTP with wrk, beside the same server answering a constant body."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from bench.processes import cpu_seconds
from isocenter.store import schema

WRK_SCRIPT = Path(__file__).with_name("wrk_paths.lua")


@dataclass(frozen=True)
class HttpFigures:
    requests: int
    seconds: float
    bytes_per_response: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_server_cpu_second(self) -> float:
        """Requests per CPU-second of the server: less sensitive to other work."""
        return self.requests / self.server_cpu_seconds if self.server_cpu_seconds else 0.0


def sample_reads(engine: Engine, count: int, seed: int) -> list[tuple[str, str, int]]:
    """``count`` random existing (type, id, content length) rows, in a repeatable order."""
    resource = schema.resource
    query = (
        select(resource.c.resource_type, resource.c.id, func.length(resource.c.content))
        .where(~resource.c.deleted)
        .order_by(resource.c.res_key)
    )
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    return random.Random(seed).sample(rows, min(count, len(rows)))


def constant_body(engine: Engine, sample: list[tuple[str, str, int]]) -> bytes:
    """The stored JSON of a sampled resource whose size is nearest the sample's mean."""
    mean = sum(length for _, _, length in sample) / len(sample)
    resource_type, id, _ = min(sample, key=lambda row: abs(row[2] - mean))
    resource = schema.resource
    query = select(resource.c.content).where(
        resource.c.resource_type == resource_type, resource.c.id == id
    )
    with engine.connect() as conn:
        content: str = conn.execute(query).scalar_one()
    return content.encode()


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError(
            "wrk is not installed: apt-get update && apt-get install -y wrk"
            " (see bench/README.md)"
        )
    return found


def run_wrk(
    base_url: str,
    paths_file: Path,
    *,
    server_pid: int,
    authorization: str,
    connections: int,
    seconds: int,
    seed: int = 1,
) -> HttpFigures:
    """GET random paths from ``paths_file`` on ``connections`` connections for ``seconds``."""
    env = dict(
        os.environ,
        BENCH_PATHS=str(paths_file),
        BENCH_SEED=str(seed),
        BENCH_AUTHORIZATION=authorization,
    )
    command = [
        require_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        base_url,
    ]
    cpu_started = cpu_seconds(server_pid)
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    server_cpu = cpu_seconds(server_pid) - cpu_started
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line.removeprefix("BENCH "))
    requests = figures["requests"]
    return HttpFigures(
        requests=requests,
        seconds=figures["duration_us"] / 1e6,
        bytes_per_response=figures["bytes"] / requests if requests else 0.0,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["socket_errors"] + figures["status_errors"],
        server_cpu_seconds=server_cpu,
    )
