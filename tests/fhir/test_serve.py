"""A real socket: uvicorn serves the app the way ``isocenter serve`` does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from isocenter.app import create_app
from tests.fhir.conftest import FHIR_JSON, patient, settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server_url(engine: Engine) -> Iterator[str]:
    port = free_port()
    app = create_app(settings(port=port), engine=engine, guard=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_metadata_and_read_over_a_socket(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as client:
        metadata = client.get("/fhir/metadata")
        assert metadata.status_code == 200
        assert metadata.json()["fhirVersion"] == "4.0.1"
        created = client.put(
            "/fhir/Patient/p1", json=patient(), headers={"Content-Type": FHIR_JSON}
        )
        assert created.status_code == 201
        read = client.get("/fhir/Patient/p1")
        assert read.status_code == 200
        assert read.headers["etag"] == 'W/"1"'
        assert read.json()["name"] == [{"family": "Curie"}]
