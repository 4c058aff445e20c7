"""The access log: one line per request on the ``isocenter.access`` logger.

A line holds the method, the path with the query's parameter names only (values may
be identifiers of patients), the status and the time taken. Bodies are never logged.
Pure ASGI, so that it adds next to nothing to each request.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("isocenter.access")


def parameter_names(query_string: bytes) -> str:
    """``a=1&b=2&a=3`` -> ``a,b,a``: names in order, values left out."""
    names = [
        unquote(part.split(b"=", 1)[0].decode("latin-1").replace("+", " "))
        for part in query_string.split(b"&")
        if part
    ]
    return ",".join(names)


def logged_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    query_string: bytes = scope.get("query_string", b"")
    return f"{path}?{parameter_names(query_string)}" if query_string else path


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1fms", scope["method"], logged_path(scope), status, elapsed_ms)
