"""Reading NDJSON (R4 nd-json.html): plain and gzip, blank lines, line numbers."""

from __future__ import annotations

import gzip
from pathlib import Path

from isocenter.ingest.ndjson import first_line_is_fhir, is_ndjson, read_lines


def test_lines_are_numbered_as_in_the_file_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(b'{"resourceType":"Patient"}\n\n  \n{"resourceType":"Patient","id":"b"}\n')
    assert [number for number, _ in read_lines(path)] == [1, 4]


def test_gzip_files_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"resourceType":"Patient","id":"a"}\n'))
    assert list(read_lines(path)) == [(1, b'{"resourceType":"Patient","id":"a"}')]
    assert is_ndjson(path)


def test_a_file_whose_first_line_is_no_resource_is_not_fhir(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    log.write_text('{"eventId": "kickoff"}\n')
    broken = tmp_path / "Broken.ndjson"
    broken.write_text("{not json\n")
    empty = tmp_path / "Empty.ndjson"
    empty.write_text("\n")

    assert not first_line_is_fhir(log)
    assert first_line_is_fhir(broken)  # a FHIR file with a broken line: report the line
    assert not first_line_is_fhir(empty)
