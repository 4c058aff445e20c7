"""Figures beside their baselines, pass/fail per target, printed and written to Markdown."""

from __future__ import annotations

import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.loading import LoadFigures
from bench.reads import HttpFigures
from bench.searches import SearchFigures, percentile

LOAD_TARGET_PER_SECOND = 3000.0
READ_TARGET_RATIO = 0.60
SEARCH_TARGET_P99_MS = 50.0
RSS_TARGET_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    what: str
    figure: str
    baseline: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return ""
        return "PASS" if self.passed else "FAIL"


@dataclass
class Report:
    database: str
    command: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(_row_text(row), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def _row_text(row: Row) -> str:
    verdict = f"  [{row.verdict}: {row.target}]" if row.verdict else ""
    return f"{row.what:<44} {row.figure:>26}   baseline {row.baseline}{verdict}"


def megabytes(count: int) -> str:
    return f"{count / 1024 / 1024:.0f} MB"


def load_rows(loaded: LoadFigures, plain: LoadFigures) -> list[Row]:
    rss = loaded.peak_rss_bytes or 0
    return [
        Row(
            "load: isocenter load (resources/s)",
            f"{loaded.per_second:,.0f}/s ({loaded.resources:,} in {loaded.seconds:.1f} s; "
            f"{loaded.per_cpu_second:,.0f} per CPU-s)",
            f"{plain.per_second:,.0f}/s plain INSERT ({plain.resources:,} rows in "
            f"{plain.seconds:.1f} s; {plain.per_cpu_second:,.0f} per CPU-s)",
            f">= {LOAD_TARGET_PER_SECOND:,.0f}/s",
            loaded.per_second >= LOAD_TARGET_PER_SECOND,
        ),
        Row(
            "load: peak RSS of the loader (with its workers)",
            megabytes(rss),
            "-",
            f"<= {megabytes(RSS_TARGET_BYTES)}",
            rss <= RSS_TARGET_BYTES,
        ),
    ]


def read_rows(reads: HttpFigures, constant: HttpFigures, connections: int) -> list[Row]:
    ratio = reads.per_second / constant.per_second if constant.per_second else 0.0
    # The same ratio per CPU-second the server used: what the wall-clock ratio would be
    # if the server had the machine to itself.
    cpu_ratio = (
        reads.per_server_cpu_second / constant.per_server_cpu_second
        if constant.per_server_cpu_second
        else 0.0
    )
    return [
        Row(
            f"read by id, {connections} connections (req/s)",
            f"{reads.per_second:,.0f}/s = {ratio:.0%} of baseline",
            f"{constant.per_second:,.0f}/s constant body",
            f">= {READ_TARGET_RATIO:.0%} of baseline",
            ratio >= READ_TARGET_RATIO and reads.errors == 0,
        ),
        Row(
            "read by id: p50 / p99 latency",
            f"{reads.p50_ms:.1f} / {reads.p99_ms:.1f} ms",
            f"{constant.p50_ms:.1f} / {constant.p99_ms:.1f} ms",
        ),
        Row(
            "read by id: requests per server CPU-second",
            f"{reads.per_server_cpu_second:,.0f} = {cpu_ratio:.0%} of baseline",
            f"{constant.per_server_cpu_second:,.0f}",
        ),
        Row(
            "read by id: bytes per response, errors",
            f"{reads.bytes_per_response:,.0f} B, {reads.errors} errors",
            f"{constant.bytes_per_response:,.0f} B, {constant.errors} errors",
        ),
    ]


def search_rows(figures: list[SearchFigures]) -> list[Row]:
    rows = []
    for found in figures:
        p99 = percentile(found.http_ms, 99)
        runs = len(found.http_ms)
        matches = sum(found.matches) / runs if runs else 0.0
        # A search that never matches anything, or whose totals are wrong, is no measure.
        valid = found.errors == 0 and matches > 0 and found.unexpected_totals == 0
        rows.append(
            Row(
                f"search {found.kind.name}",
                f"p50 {percentile(found.http_ms, 50):.1f} / p99 {p99:.1f} ms "
                f"({matches:.1f} matches/page, {found.unexpected_totals} wrong totals, "
                f"{found.errors} errors in {runs} runs)",
                f"SQL p50 {percentile(found.sql_ms, 50):.2f} / p99 "
                f"{percentile(found.sql_ms, 99):.2f} ms",
                f"p99 <= {SEARCH_TARGET_P99_MS:.0f} ms, right totals",
                valid and p99 <= SEARCH_TARGET_P99_MS,
            )
        )
    return rows


def server_rss_row(peak: int) -> Row:
    return Row(
        "server: peak RSS (after reads and searches)",
        megabytes(peak),
        "-",
        f"<= {megabytes(RSS_TARGET_BYTES)}",
        peak <= RSS_TARGET_BYTES,
    )


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = (
        " (with uncommitted changes)" if git("status", "--porcelain", "--", "isocenter") else ""
    )
    return git("rev-parse", "--short", "HEAD") + dirty


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    cores = len(
        [
            1
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("processor")
        ]
    )
    return (
        f"{cores} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


HEADER = """# Benchmark results

Written by `bash bench/run` (SQLite) and `bash bench/run --postgres`; each run replaces
its own database's section. See README.md for what each figure and baseline is.
"""


def markdown(report: Report) -> str:
    """This run's section of RESULTS.md."""
    lines = [
        f"## {report.database}",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- commit: {commit()}",
        f"- command: `{report.command}`",
        "",
        "| what | figure | baseline (same run) | target | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.what} | {r.figure} | {r.baseline} | {r.target} | {r.verdict} |"
        for r in report.rows
    ]
    if report.notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in report.notes]
    for section in report.sections:
        lines += ["", section.replace("\n### ", "\n#### ").replace("### ", "#### ", 1)]
    return "\n".join(lines) + "\n"


def write_results(path: Path, report: Report, key: str) -> None:
    """Replace this database's section of ``path`` (between markers), keep the others."""
    start, end = f"<!-- results:{key} -->", f"<!-- /results:{key} -->"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    section = f"{start}\n{markdown(report)}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
