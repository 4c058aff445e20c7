"""A backend client's JWK Set, fetched from its registered URL and cached as HTTP allows.

SMART Backend Services, "Registering a client"
(https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-smart-backend-service):
the server fetches the client's JWK Set from its URL. A fetched set is kept no longer than
its ``Cache-Control: max-age`` (RFC 9111 §5.2.2.1); ``no-store``, ``no-cache`` or no
header mean it is not kept at all. Only https URLs are fetched, save http on a loopback
host when the server runs in development mode.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

# The longest a fetched set is kept whatever its max-age: a withdrawn key stops working
# within this time.
MAX_CACHE_SECONDS = 3600
TIMEOUT_SECONDS = 5.0
MAX_BYTES = 256 * 1024


class JwksUnavailable(Exception):
    """The JWK Set could not be used: URL refused, fetch failed, or not a JWK Set."""


@dataclass(frozen=True)
class _Cached:
    jwks: dict[str, Any]
    until: float  # monotonic seconds


class JwksFetcher:
    """Fetches JWK Sets by URL, one cache entry per URL, safe across threads."""

    def __init__(
        self,
        *,
        development: bool = False,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.development = development
        self._client = client  # made on first fetch: most servers never fetch one
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}

    def get(self, url: str, *, refetch: bool = False) -> tuple[dict[str, Any], bool]:
        """The set at ``url`` and whether it was just fetched (not taken from the cache)."""
        self.check_url(url)
        if not refetch:
            with self._lock:
                cached = self._cache.get(url)
            if cached is not None and cached.until > self._clock():
                return cached.jwks, False
        jwks, max_age = self._fetch(url)
        with self._lock:
            if max_age > 0:
                self._cache[url] = _Cached(jwks, self._clock() + max_age)
            else:
                self._cache.pop(url, None)
        return jwks, True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
            return self._client

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and self.development and _is_loopback(parts.hostname or ""):
            return
        raise JwksUnavailable("a JWK Set URL must use https")

    def _fetch(self, url: str) -> tuple[dict[str, Any], int]:
        try:
            with self._http().stream("GET", url, headers={"Accept": "application/json"}) as r:
                if r.status_code != 200:
                    raise JwksUnavailable(f"JWK Set URL answered {r.status_code}")
                body = _read_limited(r)
                max_age = cache_seconds(r.headers.get("cache-control"))
        except httpx.HTTPError as exc:
            raise JwksUnavailable("JWK Set URL could not be fetched") from exc
        return _key_set(body), max_age


def cache_seconds(cache_control: str | None) -> int:
    """How long a response may be kept: its max-age, 0 for no-store/no-cache or none."""
    if not cache_control:
        return 0
    directives = [part.strip().lower() for part in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age":
            try:
                return max(0, min(int(value.strip().strip('"')), MAX_CACHE_SECONDS))
            except ValueError:
                return 0
    return 0


def _read_limited(response: httpx.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > MAX_BYTES:
            raise JwksUnavailable("JWK Set too large")
    return bytes(body)


def _key_set(body: bytes) -> dict[str, Any]:
    try:
        jwks = json.loads(body)
    except ValueError as exc:
        raise JwksUnavailable("JWK Set is not JSON") from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JwksUnavailable('JWK Set has no "keys" list')
    return jwks


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
