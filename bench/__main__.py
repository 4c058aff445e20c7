"""``python -m bench``: data, load, read and search figures beside same-run baselines.

Phases (each bounded in count and time): make the data (copies of the Synthea bundles),
load it with ``isocenter load`` into a fresh database and INSERT it plainly into another,
read by id with wrk against the server beside a constant body, time the typical searches
beside a bare SQL fetch, then print the table and write bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine

from bench import profiling, report
from bench.databases import (
    DEFAULT_POSTGRES_URL,
    fresh_database,
    on_disk_bytes,
    reader_engine,
    sqlite_url,
    stored_rows,
    with_database_name,
)
from bench.loading import bundle_files, isocenter_command, plain_insert, run_loader
from bench.multiplier import (
    copies_needed,
    copy_folder_name,
    read_sources,
    unique_resources,
    write_copies,
)
from bench.processes import Server, free_port, load_average, peak_rss_bytes
from bench.reads import HttpFigures, constant_body, require_wrk, run_wrk, sample_reads
from bench.searches import Population, patient_facts, run_searches, stored_patient_copies
from bench.tokens import bench_token

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHARED_DATA = Path(os.environ.get("ISOCENTER_SHARED_DATA", REPO.parent / "shared" / "data"))


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="Run on PostgreSQL.")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="Database to recreate for the run (default: %(default)s).",
    )
    parser.add_argument(
        "--resources",
        type=int,
        default=250_000,
        help="At least this many resources (default: %(default)s).",
    )
    parser.add_argument(
        "--read-seconds",
        type=int,
        default=15,
        help="wrk duration per read measurement (default: %(default)s).",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--read-ids",
        type=int,
        default=5000,
        help="Random existing ids the reads pick from (default: %(default)s).",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=200,
        help="Runs per search query kind (default: %(default)s).",
    )
    parser.add_argument(
        "--load-timeout",
        type=int,
        default=900,
        help="Seconds before the load is stopped (default: %(default)s).",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Afterwards, sample the loader (3 copies) and the server (reads, searches) "
        "with py-spy and add where the time goes to the results.",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument(
        "--results",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="Markdown file to write ('-' for none).",
    )
    return parser.parse_args(argv)


def make_data(out: Path, target: int) -> tuple[Path, int, int]:
    """Write the copies; the folder, the number of copies and resources per copy."""
    started = time.perf_counter()
    sources = read_sources(SHARED_DATA)
    per_copy = unique_resources(sources)
    copies = copies_needed(target, per_copy)
    data = out / "data"
    shutil.rmtree(data, ignore_errors=True)
    files = list(write_copies(sources, copies, data))
    size = sum(path.stat().st_size for path in files)
    print(
        f"data: {copies} copies x {len(sources)} bundles = {len(files)} files, "
        f"{copies * per_copy:,} distinct resources, {report.megabytes(size)}, "
        f"{time.perf_counter() - started:.1f} s -> {data}",
        flush=True,
    )
    return data, copies, per_copy


def database_urls(args: argparse.Namespace) -> tuple[str, str]:
    if args.postgres:
        return args.postgres_url, with_database_name(args.postgres_url, "isocenter_bench_plain")
    return sqlite_url(args.out / "isocenter.db"), sqlite_url(args.out / "plain.db")


def measure_load(
    data: Path, url: str, plain_url: str, args: argparse.Namespace, found: report.Report
) -> int:
    """Load and the plain INSERT baseline; how many resources the store holds after."""
    print(f"load: isocenter load {data} ...", flush=True)
    found.note(f"load average before the load: {load_average()}")
    log = args.out / "load.log"
    loaded, finished = run_loader(
        data, fresh_database(url), log_path=log, timeout_seconds=args.load_timeout
    )
    if finished.timed_out:
        found.note(
            f"isocenter load was stopped after {args.load_timeout} s (--load-timeout) with "
            f"{loaded.resources:,} resources stored; later figures use what was stored"
        )
    elif finished.exit_code != 0:
        found.note(f"isocenter load exited {finished.exit_code}; see {log}")
    plain = plain_insert(bundle_files(data), fresh_database(plain_url))
    for row in report.load_rows(loaded, plain):
        found.add(row)
    size = on_disk_bytes(url)
    if size is not None:
        found.note(f"database file after load: {report.megabytes(size)}")
    engine = reader_engine(url)
    rows = stored_rows(engine)
    engine.dispose()
    filled = ", ".join(f"{name} {count:,}" for name, count in rows.items() if count)
    found.note(f"rows after load: {filled}")
    return loaded.resources


@dataclass(frozen=True)
class Running:
    """The server under test: where it listens, its process, the token requests carry."""

    base: str
    pid: int
    authorization: str

    def wrk(self, paths: Path, args: argparse.Namespace, seconds: int) -> HttpFigures:
        return run_wrk(
            self.base,
            paths,
            server_pid=self.pid,
            authorization=self.authorization,
            connections=args.connections,
            seconds=seconds,
        )

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=30, headers={"Authorization": self.authorization})


def measure_server(
    url: str, copies: int, written_copies: int, args: argparse.Namespace, found: report.Report
) -> None:
    engine = reader_engine(url)
    people = population(engine, copies, written_copies)
    sample = sample_reads(engine, args.read_ids, seed=3)
    (args.out / "read-paths.txt").write_text(
        "".join(f"/fhir/{resource_type}/{id}\n" for resource_type, id, _ in sample)
    )
    (args.out / "constant-path.txt").write_text("/bench/constant\n")
    (args.out / "constant.json").write_bytes(constant_body(engine, sample))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        ISOCENTER_DATABASE_URL=url,
        ISOCENTER_PORT=str(port),
        ISOCENTER_BASE_URL=base,
        ISOCENTER_DEMO="false",
        ISOCENTER_BENCH_CONSTANT_BODY=str(args.out / "constant.json"),
    )
    server = Server(
        [sys.executable, "-m", "bench.app"], env=env, log_path=args.out / "server.log"
    )
    server.start(f"{base}/fhir/metadata", timeout_seconds=120)
    try:
        running = Running(base, server.pid, f"Bearer {bench_token(url, base)}")
        _reads(running, args, found)
        _searches(running, engine, people, args, found)
        found.add(report.server_rss_row(peak_rss_bytes(server.pid)))
        if args.profile:
            _profile_server(running, engine, people, args, found)
    finally:
        server.stop()
        engine.dispose()


def _reads(running: Running, args: argparse.Namespace, found: report.Report) -> None:
    reads_file, constant_file = args.out / "read-paths.txt", args.out / "constant-path.txt"
    print(
        f"reads: wrk {args.connections} connections, {args.read_seconds} s each ...", flush=True
    )
    for paths in (reads_file, constant_file):
        running.wrk(paths, args, seconds=3)
    found.note(f"load average before reads: {load_average()}")
    reads = running.wrk(reads_file, args, seconds=args.read_seconds)
    constant = running.wrk(constant_file, args, seconds=args.read_seconds)
    for row in report.read_rows(reads, constant, args.connections):
        found.add(row)


def _searches(
    running: Running,
    engine: Engine,
    people: Population,
    args: argparse.Namespace,
    found: report.Report,
) -> None:
    print(f"searches: {args.runs} runs per query kind ...", flush=True)
    found.note(f"load average before searches: {load_average()}")
    with running.client() as client:
        figures = run_searches(client, f"{running.base}/fhir", engine, people, runs=args.runs)
    for row in report.search_rows(figures):
        found.add(row)
    examples = "; ".join(f.example.removeprefix(running.base) for f in figures)
    found.note(f"search examples: {examples}")


def _profile_server(
    running: Running,
    engine: Engine,
    people: Population,
    args: argparse.Namespace,
    found: report.Report,
) -> None:
    print("profile: server under reads, then under searches ...", flush=True)
    raw = args.out / "profile-reads.txt"
    sampler = profiling.record_pid(running.pid, raw, args.read_seconds)
    running.wrk(args.out / "read-paths.txt", args, seconds=args.read_seconds)
    sampler.wait(timeout=60)
    found.sections.append(profiling.summarize("Server during reads by id", raw).markdown())

    raw = args.out / "profile-searches.txt"
    sampler = profiling.record_pid(running.pid, raw, 30)
    with running.client() as client:
        run_searches(client, f"{running.base}/fhir", engine, people, runs=40)
    sampler.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
    sampler.wait(timeout=60)
    found.sections.append(profiling.summarize("Server during searches", raw).markdown())


def profile_load(url: str, copies: int, args: argparse.Namespace, found: report.Report) -> None:
    """One more copy into an empty database and into the full one; profile the latter."""
    print("profile: isocenter load of one more copy, empty vs full database ...", flush=True)
    sources = read_sources(SHARED_DATA)
    extra = args.out / "extra-data"
    shutil.rmtree(extra, ignore_errors=True)
    list(write_copies(sources, copies + 2, extra, first=copies))
    first, second = (extra / copy_folder_name(n) for n in (copies, copies + 1))
    empty_url = (
        with_database_name(url, "isocenter_bench_empty")
        if args.postgres
        else sqlite_url(args.out / "empty.db")
    )
    rates = []
    for target in (fresh_database(empty_url), url):
        loaded, _ = run_loader(
            first,
            target,
            log_path=args.out / "extra-load.log",
            timeout_seconds=args.load_timeout,
        )
        rates.append(unique_resources(sources) / loaded.seconds)
    found.note(
        f"one more copy ({unique_resources(sources):,} resources) loads at {rates[0]:,.0f}/s "
        f"into an empty database and at {rates[1]:,.0f}/s into the benchmark database"
    )
    raw = args.out / "profile-load.txt"
    command = [isocenter_command(), "load", "--quiet", "--database-url", url, str(second)]
    profiling.record_command(command, raw, args.load_timeout)
    title = "isocenter load of one more copy into the full benchmark database"
    found.sections.append(profiling.summarize(title, raw).markdown())


def population(engine: Engine, copies: int, written_copies: int) -> Population:
    patients = [patient_facts(source) for source in read_sources(SHARED_DATA)]
    stored = stored_patient_copies(engine, patients, written_copies)
    return Population(patients, copies, stored)


def main(argv: list[str]) -> int:
    args = arguments(argv)
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    require_wrk()
    url, plain_url = database_urls(args)
    found = report.Report(
        database="PostgreSQL" if args.postgres else "SQLite (file, WAL)",
        command="python -m bench " + " ".join(argv),
    )
    data, copies, per_copy = make_data(args.out, args.resources)
    stored = measure_load(data, url, plain_url, args, found)
    # Copies load in folder order; searches pick patients of the copies that are whole.
    loaded_copies = min(copies, stored // per_copy)
    if loaded_copies:
        measure_server(url, loaded_copies, copies, args, found)
        if args.profile:
            profile_load(url, copies, args, found)
    found.note(f"whole run: {time.perf_counter() - started:.0f} s")
    if str(args.results) != "-":
        key = "postgresql" if args.postgres else "sqlite"
        report.write_results(args.results, found, key)
        print(f"results written to {args.results}")
    failed = [row.what for row in found.rows if row.passed is False]
    print("targets:", "all met" if not failed else "missed: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
