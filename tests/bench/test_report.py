"""RESULTS.md: one section per database, each run replacing only its own."""

from __future__ import annotations

from pathlib import Path

from bench.report import Report, Row, write_results


def _report(database: str, figure: str) -> Report:
    found = Report(database=database, command="python -m bench")
    found.rows.append(Row("load", figure, "plain", ">= 3,000/s", True))
    return found


def test_a_run_replaces_its_own_section_and_keeps_the_other(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    write_results(results, _report("SQLite", "first"), "sqlite")
    write_results(results, _report("PostgreSQL", "postgres"), "postgresql")
    write_results(results, _report("SQLite", "second"), "sqlite")
    text = results.read_text()
    assert "first" not in text
    assert "| load | second | plain | >= 3,000/s | PASS |" in text
    assert "| load | postgres |" in text
    assert text.index("## SQLite") < text.index("## PostgreSQL")
