"""``isocenter load``: exit codes, error lines, the counts table."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from isocenter.cli import main
from tests.conftest import SHARED_DATA

EXAMPLES = SHARED_DATA / "us-core-examples"


def run(tmp_path: Path, *paths: Path) -> tuple[int, str, str]:
    database = f"sqlite:///{tmp_path / 'load.db'}"
    result = CliRunner().invoke(
        main, ["load", "--quiet", "--database-url", database, *map(str, paths)]
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_load_exits_0_and_prints_counts_per_type(tmp_path: Path) -> None:
    code, out, err = run(
        tmp_path, EXAMPLES / "Patient-example.json", EXAMPLES / "Bundle-uscore-mo3.json"
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["resource", "type", "written"]
    assert "Medication                               1" in lines
    assert "MedicationRequest                        1" in lines
    assert "Patient                                  1" in lines
    assert lines[-1].startswith("2 files in ")
    assert "resources/s; 0 errors, 0 skipped" in lines[-1]
    assert err == ""


def test_a_failure_exits_1_with_file_and_line_and_loads_the_rest(tmp_path: Path) -> None:
    bad = tmp_path / "Patient.ndjson"
    bad.write_bytes(
        b'{"resourceType":"Patient","id":"fine"}\n{"resourceType":"Patient","id":"x y"}\n'
    )
    code, out, err = run(tmp_path, bad, EXAMPLES / "Patient-child-example.json")

    assert code == 1
    assert f"error {bad}:2: Patient.id: 'x y' is not a valid id" in err
    assert "Patient                                  2" in out.splitlines()
    assert "1 errors" in out
    assert "everything else was loaded" in out


def test_skipped_files_are_noted_but_do_not_fail_the_load(tmp_path: Path) -> None:
    note = tmp_path / "package.json"
    note.write_bytes(orjson.dumps({"name": "a-package"}))
    code, _, err = run(tmp_path, note)

    assert code == 0
    assert f"skipped {note}: not a FHIR resource (no resourceType)" in err
