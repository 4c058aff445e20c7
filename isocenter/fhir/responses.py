"""FHIR JSON responses: stored resource text sent as is, Bundles, OperationOutcomes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from starlette.responses import Response

from isocenter.fhir.negotiation import DEFAULT, Format
from isocenter.store.instants import to_http_date
from isocenter.store.repository import StoredResource


def etag(version_id: int) -> str:
    """A weak ETag naming the version (http.html#versioning)."""
    return f'W/"{version_id}"'


def version_headers(stored: StoredResource) -> dict[str, str]:
    return {"ETag": etag(stored.version_id), "Last-Modified": _http_date(stored.last_updated)}


@lru_cache(maxsize=1024)
def _http_date_of_second(second: int) -> str:
    return to_http_date(second * 1_000_000)


def _http_date(microseconds: int) -> str:
    """Last-Modified has whole seconds; resources written together share one."""
    return _http_date_of_second(microseconds // 1_000_000)


def dumps(value: Any, fmt: Format) -> bytes:
    if fmt.pretty:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    return orjson.dumps(value)


def json_response(
    value: Any,
    fmt: Format = DEFAULT,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(dumps(value, fmt), status, _with_type(headers, fmt))


def text_response(
    content: str,
    fmt: Format = DEFAULT,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Send stored resource text without parsing it, unless indentation was asked for."""
    if fmt.pretty:
        body = orjson.dumps(orjson.loads(content), option=orjson.OPT_INDENT_2)
    else:
        body = content.encode()
    return Response(body, status, _with_type(headers, fmt))


def _with_type(headers: Mapping[str, str] | None, fmt: Format) -> dict[str, str]:
    result = dict(headers or {})
    result["Content-Type"] = fmt.content_type
    return result
