"""Reading NDJSON files, plain or gzip-compressed (http://hl7.org/fhir/R4/nd-json.html).

One resource per line; blank lines are allowed and skipped. Line numbers count every line
of the file from 1 so that errors point at the line an editor shows.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

SUFFIXES = (".ndjson", ".ndjson.gz")


def is_ndjson(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every non-blank line."""
    with _open(path) as stream:
        for number, line in enumerate(stream, start=1):
            line = line.strip()
            if line:
                yield number, line


def first_line_is_fhir(path: Path) -> bool:
    """Whether the first non-blank line is a JSON object with a resourceType.

    Bulk Data exports sit beside files that are not FHIR (an export's log.ndjson); a file
    whose first line is not a resource is skipped as a whole rather than failed line by
    line.
    """
    for _, line in read_lines(path):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return True  # a FHIR file with a broken first line: report that line
        return isinstance(value, dict) and "resourceType" in value
    return False
