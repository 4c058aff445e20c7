"""A blocking HTTP client for tests: httpx on the app's ASGI transport, through a portal."""

from __future__ import annotations

import functools
from typing import Any

import httpx
from starlette.applications import Starlette


class BlockingClient:
    """``httpx.AsyncClient`` on an ``ASGITransport``, called from blocking test code.

    Cookies are kept like a browser's; redirects are not followed.
    """

    def __init__(
        self,
        app: Starlette,
        portal: Any,
        *,
        base_url: str = "http://testserver",
        raise_app_exceptions: bool = True,
    ) -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        self._client = httpx.AsyncClient(transport=transport, base_url=base_url)
        self._portal = portal

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        call = functools.partial(self._client.request, method, url, **kwargs)
        response: httpx.Response = self._portal.call(call)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def close(self) -> None:
        self._portal.call(self._client.aclose)
