"""Summing py-spy's collapsed stacks per function."""

from __future__ import annotations

from pathlib import Path

from bench.profiling import summarize

_MAIN = "main (isocenter/cli.py:10);load (isocenter/ingest/loader.py:20)"
STACKS = "\n".join(
    [
        f"{_MAIN};put (isocenter/store/repository.py:30) 6",
        "main (isocenter/cli.py:10);load (isocenter/ingest/loader.py:21) 2",
        "_bootstrap (threading.py:1);run (tqdm/_monitor.py:69)"
        ";Condition.wait (threading.py:331) 50",
    ]
)


def test_functions_are_counted_inclusive_and_self_as_shares_of_busy_samples(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(STACKS)
    profile = summarize("load", raw)
    assert profile.samples == 8
    assert dict(profile.inclusive)["isocenter/ingest/loader.py:load"] == 8
    assert dict(profile.own) == {
        "isocenter/store/repository.py:put": 6,
        "isocenter/ingest/loader.py:load": 2,
    }


def test_a_thread_waiting_on_a_condition_is_left_out(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(STACKS)
    assert "tqdm/_monitor.py:run" not in dict(summarize("load", raw).inclusive)


def test_the_markdown_leaves_out_the_entry_point_that_is_on_every_stack(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(STACKS)
    text = summarize("load", raw).markdown()
    assert "| 75% | `isocenter/store/repository.py:put` |" in text
    assert "`isocenter/cli.py:main`" not in text
