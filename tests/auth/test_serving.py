"""Serving safely: HTTPS with TLS 1.2 or newer, forwarded headers only from set proxies."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from isocenter.app import serving_options
from isocenter.config import ConfigError, Settings


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _client_address(request: Request) -> JSONResponse:
    client = request.client
    return JSONResponse({"host": client.host if client else None, "scheme": request.url.scheme})


@pytest.fixture
def tls_settings(tmp_path: Path) -> Settings:
    cert, key = _self_signed(tmp_path)
    return Settings(base_url="https://127.0.0.1", tls_cert=cert, tls_key=key)


@pytest.fixture
def https_url(tls_settings: Settings) -> Iterator[str]:
    port = _free_port()
    app = Starlette(routes=[Route("/", _client_address)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, **serving_options(tls_settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_tls_context_refuses_anything_older_than_tls_1_2(tls_settings: Settings) -> None:
    config = uvicorn.Config(Starlette(), log_config=None, **serving_options(tls_settings))
    config.load()

    assert config.ssl is not None
    assert config.ssl.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_https_is_served_with_the_given_certificate(
    https_url: str, tls_settings: Settings
) -> None:
    context = ssl.create_default_context(cafile=str(tls_settings.tls_cert))

    response = httpx.get(https_url, verify=context)

    assert response.status_code == 200
    assert response.json()["scheme"] == "https"


def test_forwarded_headers_are_ignored_without_trusted_proxies() -> None:
    options = serving_options(Settings())

    assert options["proxy_headers"] is False


def test_forwarded_headers_are_trusted_only_from_the_configured_proxies() -> None:
    options = serving_options(Settings(trusted_proxies=("10.0.0.5", "10.0.0.6")))

    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"


def test_tls_needs_a_key_with_the_certificate_and_an_https_base_url(
    tls_settings: Settings,
) -> None:
    with pytest.raises(ConfigError):
        tls_settings.with_overrides(base_url="http://127.0.0.1")
    with pytest.raises(ConfigError):
        Settings().with_overrides(tls_cert=tls_settings.tls_cert)
