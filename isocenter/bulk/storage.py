"""Where export files go: a folder per job, on the local disk or in S3-compatible storage.

Each file is written under a temporary name and appears under its own name only when
complete, so a file that exists is whole: a worker that dies leaves only a ``.part`` file
(locally) or a spooled temp file (for object storage), and the worker that takes the job up
writes that file again from its start. Object storage goes through fsspec with s3fs; an
object is uploaded from a local spool file once written, as S3 has no rename.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from isocenter.outcomes import OperationOutcomeError

_SAFE = re.compile(r"^[A-Za-z0-9_-]+(\.[a-z]+)?$")
NDJSON = "application/fhir+ndjson"
_BLOCK = 1 << 20


class Storage(Protocol):
    def writing(self, job_id: str, name: str) -> Any: ...
    def size(self, job_id: str, name: str) -> int: ...
    def remove(self, job_id: str, name: str) -> None: ...
    def remove_job(self, job_id: str) -> None: ...
    def response(self, job_id: str, name: str, request: Request) -> Response: ...


def _checked(job_id: str, name: str) -> None:
    if not _SAFE.match(job_id) or not _SAFE.match(name):
        raise ValueError(f"not a file of an export: {job_id}/{name}")


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, job_id: str, name: str) -> Path:
        _checked(job_id, name)
        return self.root / job_id / name

    @contextmanager
    def writing(self, job_id: str, name: str) -> Iterator[BinaryIO]:
        """A file to write; it appears under ``name`` only once the block ends normally."""
        final = self.path(job_id, name)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(final.name + ".part")
        with partial.open("wb", buffering=_BLOCK) as stream:
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

    def response(self, job_id: str, name: str, request: Request) -> Response:
        """Streamed from disk; Starlette's FileResponse answers Range requests (206)."""
        headers = {"Cache-Control": "no-store"}
        return FileResponse(self.path(job_id, name), media_type=NDJSON, headers=headers)


class ObjectStorage:
    """``s3://bucket/prefix`` through fsspec/s3fs (any S3-compatible endpoint)."""

    def __init__(self, url: str, endpoint_url: str = "") -> None:
        import fsspec  # type: ignore[import-untyped]

        options: dict[str, Any] = {}
        if endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint_url}
        self.fs = fsspec.filesystem("s3", **options)
        self.prefix = url.removeprefix("s3://").rstrip("/")

    def key(self, job_id: str, name: str | None = None) -> str:
        if name is None:
            return f"{self.prefix}/{job_id}"
        _checked(job_id, name)
        return f"{self.prefix}/{job_id}/{name}"

    @contextmanager
    def writing(self, job_id: str, name: str) -> Iterator[BinaryIO]:
        with tempfile.NamedTemporaryFile(suffix=".part") as spool:
            stream: BinaryIO = spool  # type: ignore[assignment]
            yield stream
            spool.flush()
            self.fs.put_file(spool.name, self.key(job_id, name))

    def size(self, job_id: str, name: str) -> int:
        return int(self.fs.size(self.key(job_id, name)))

    def remove(self, job_id: str, name: str) -> None:
        key = self.key(job_id, name)
        if self.fs.exists(key):
            self.fs.rm(key)

    def remove_job(self, job_id: str) -> None:
        if not _SAFE.match(job_id):
            return
        key = self.key(job_id)
        if self.fs.exists(key):
            self.fs.rm(key, recursive=True)
        self.fs.invalidate_cache()

    def response(self, job_id: str, name: str, request: Request) -> Response:
        """Streamed in blocks; one ``bytes=start-[end]`` range answers 206 (RFC 9110 §14)."""
        key = self.key(job_id, name)
        size = self.size(job_id, name)
        start, end = _range(request.headers.get("range"), size)
        headers = {"Cache-Control": "no-store", "Accept-Ranges": "bytes"}
        headers["Content-Length"] = str(end - start)
        status = 200
        if request.headers.get("range") is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        return StreamingResponse(
            self._blocks(key, start, end), status, headers, media_type=NDJSON
        )

    async def _blocks(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        stream = await run_in_threadpool(self.fs.open, key, "rb")
        try:
            await run_in_threadpool(stream.seek, start)
            position = start
            while position < end:
                block = await run_in_threadpool(stream.read, min(_BLOCK, end - position))
                if not block:
                    return
                position += len(block)
                yield block
        finally:
            stream.close()


def _range(header: str | None, size: int) -> tuple[int, int]:
    """The one byte range asked for, as [start, end); the whole file without a header."""
    if header is None:
        return 0, size
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or match.group(1) == "" and match.group(2) == "":
        raise _unsatisfiable(size)
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    if start >= end:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> OperationOutcomeError:
    return OperationOutcomeError(
        416, "invalid", "range not satisfiable", headers={"Content-Range": f"bytes */{size}"}
    )


def storage_for(url: str, root: Path, endpoint_url: str = "") -> Storage:
    if url.startswith("s3://"):
        return ObjectStorage(url, endpoint_url)
    if url:
        raise ValueError(f"export storage must be a local folder or s3://, not {url!r}")
    return LocalStorage(root)
