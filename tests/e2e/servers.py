"""Real sockets for the end-to-end suite: uvicorn in a thread, and the app's redirect page.

``Served`` runs any ASGI app on a free loopback port in a daemon thread, the way
``isocenter serve`` runs Isocenter. ``RedirectTarget`` is the registered app's side of
OAuth: a tiny Starlette app whose one page records each query string the browser brings
back (code, state, error), so tests read what the authorization server sent.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

START_TIMEOUT_SECONDS = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """``app`` served by uvicorn on 127.0.0.1:``port`` until ``stop``."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, access_log=False, log_config=None
        )
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class Callback:
    """One arrival at the redirect URI: the full URL and its query parameters."""

    url: str
    params: dict[str, str]


@dataclass
class RedirectTarget:
    """The registered app's redirect, launch and sign-off pages, recording every arrival."""

    url: str = ""
    callbacks: list[Callback] = field(default_factory=list)
    launches: list[Callback] = field(default_factory=list)
    sign_offs: list[Callback] = field(default_factory=list)

    @property
    def redirect_uri(self) -> str:
        return self.url + "/callback"

    @property
    def launch_url(self) -> str:
        return self.url + "/launch"

    @property
    def logout_url(self) -> str:
        return self.url + "/signed-off"

    @property
    def logo_url(self) -> str:
        return self.url + "/logo.png"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/callback", self._recorder(self.callbacks, "Signed in")),
                Route("/launch", self._recorder(self.launches, "Launching")),
                Route("/signed-off", self._recorder(self.sign_offs, "Signed off")),
                Route("/logo.png", _logo),
            ]
        )

    def last_callback(self) -> Callback:
        assert self.callbacks, "the browser never reached the redirect URI"
        return self.callbacks[-1]

    @staticmethod
    def _recorder(
        arrivals: list[Callback], title: str
    ) -> Callable[[Request], Awaitable[HTMLResponse]]:
        async def record(request: Request) -> HTMLResponse:
            arrivals.append(
                Callback(url=str(request.url), params=query_params(str(request.url)))
            )
            return HTMLResponse(f"<!doctype html><title>{title}</title><h1>{title}</h1>")

        return record


def query_params(url: str) -> dict[str, str]:
    """The query of ``url`` as single values (repeated names are a test failure)."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in parsed.values()), f"repeated parameter in {url}"
    return {name: values[0] for name, values in parsed.items()}


async def _logo(request: Request) -> Response:
    return Response(square_png(48, (0, 94, 162)), media_type="image/png")


def square_png(size: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG (PNG spec §5: signature, IHDR, IDAT, IEND chunks)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
