"""Where export files go: a folder per job under the export directory.

Each file is written under a temporary name and renamed when complete, so a file that
exists is whole: a worker that dies leaves only a ``.part`` file, which the worker that
takes the job up writes again from its start.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_SAFE = re.compile(r"^[A-Za-z0-9_-]+(\.[a-z]+)?$")


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, job_id: str, name: str) -> Path:
        if not _SAFE.match(job_id) or not _SAFE.match(name):
            raise ValueError(f"not a file of an export: {job_id}/{name}")
        return self.root / job_id / name

    @contextmanager
    def writing(self, job_id: str, name: str) -> Iterator[BinaryIO]:
        """A file to write; it appears under ``name`` only once the block ends normally."""
        final = self.path(job_id, name)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + ".part")
        with partial.open("wb", buffering=1 << 20) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, final)

    def size(self, job_id: str, name: str) -> int:
        return self.path(job_id, name).stat().st_size

    def remove(self, job_id: str, name: str) -> None:
        self.path(job_id, name).unlink(missing_ok=True)

    def remove_job(self, job_id: str) -> None:
        if _SAFE.match(job_id):
            shutil.rmtree(self.root / job_id, ignore_errors=True)
