"""Export files in S3-compatible storage (fsspec with s3fs), against moto in server mode:
written, listed, downloaded (with a Range), and deleted on cancel."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from isocenter.bulk.service import BulkService
from isocenter.bulk.storage import ObjectStorage
from isocenter.config import Settings
from tests.bulk.conftest import BASE_URL, Http
from tests.bulk.exports import export, lines

BUCKET = "isocenter-exports"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bulk_settings(
    tmp_path: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fs = ObjectStorage(f"s3://{BUCKET}", s3_endpoint).fs
    # The moto server outlives one test: the bucket may be there from the other database's run.
    with contextlib.suppress(FileExistsError):
        fs.mkdir(BUCKET)
    return Settings(
        database_url="sqlite://",
        base_url=BASE_URL,
        demo=False,
        export_dir=tmp_path / "unused",
        export_in_process_worker=False,
        export_storage_url=f"s3://{BUCKET}/jobs",
        export_s3_endpoint_url=s3_endpoint,
    )


def test_an_export_to_object_storage_downloads_and_is_deleted_on_cancel(
    http: Http, service: BulkService, token: str, loaded: list[str], tmp_path: Path
) -> None:
    assert isinstance(service.storage, ObjectStorage)
    document = export(http, service, token, params={"_type": "Patient,Condition"})
    assert {entry["type"] for entry in document["output"]} == {"Patient", "Condition"}
    url = next(e["url"] for e in document["output"] if e["type"] == "Patient")
    assert {p["id"] for p in lines(http, token, url)} == set(loaded)
    whole = http.request("GET", url, token).content
    tail = http.request("GET", url, token, headers={"Range": "bytes=10-"})
    assert tail.status_code == 206 and tail.content == whole[10:]
    assert not (tmp_path / "unused").exists()

    job_id = url.split("/bulk-files/")[1].split("/")[0]
    fs = service.storage.fs
    assert fs.ls(service.storage.key(job_id), refresh=True)
    status_url = f"{BASE_URL}/fhir/bulk-status/{job_id}"
    assert http.request("DELETE", status_url, token).status_code == 202
    assert not fs.exists(service.storage.key(job_id))
