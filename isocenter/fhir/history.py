"""History of an instance, a type or the whole system (R4 http.html#history).

Entries come newest first. Paging is keyset: the next link carries ``_cursor``, the
last entry's (lastUpdated, type, id, version) in base64url, so versions written after
the first page never shift later pages. ``_at`` keeps the versions that were current
at some moment of its range; as that needs each version's successor, such Bundles
carry no ``total`` and a page may hold fewer entries than ``_count``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from sqlalchemy import Select
from starlette.responses import Response

from isocenter.fhir.access_control import check_readable, history_keys, require
from isocenter.fhir.bundles import bundle, entry_resource, full_url, page_url
from isocenter.fhir.context import Call
from isocenter.fhir.responses import etag, json_response
from isocenter.fhir.summary import check_summary, parse_elements
from isocenter.outcomes import invalid_parameter
from isocenter.store.instants import to_instant
from isocenter.store.repository import HistoryCursor, StoredResource

_PARAMETERS = {
    "_count",
    "_since",
    "_at",
    "_cursor",
    "_format",
    "_pretty",
    "_summary",
    "_elements",
}


def instance_history(call: Call) -> Response:
    """GET [base]/[type]/[id]/_history."""
    resource_type = call.resource_type()
    id = call.id()
    access = require(call, resource_type, "r", id, action="history")
    check_readable(call, access, call.context.store.read(resource_type, id), resource_type, id)
    return _history(call, resource_type, id, f"{resource_type}/{id}/_history", None)


def type_history(call: Call) -> Response:
    """GET [base]/[type]/_history (SMART v2: a type-level history needs ``s``)."""
    resource_type = call.resource_type()
    access = require(call, resource_type, "s", action="history")
    engine = call.context.search_engine()
    keys = history_keys(access, [resource_type], engine, system=False)
    return _history(call, resource_type, None, f"{resource_type}/_history", keys)


def system_history(call: Call) -> Response:
    """GET [base]/_history: only the types the scopes let the access search."""
    access = require(call, None, "s", action="history")
    engine = call.context.search_engine()
    keys = history_keys(access, sorted(call.context.resource_types), engine, system=True)
    return _history(call, None, None, "_history", keys)


def _history(
    call: Call, resource_type: str | None, id: str | None, path: str, keys: Select[Any] | None
) -> Response:
    """One page of versions; ``keys`` limits them to the resources an access may see."""
    _check_parameters(call)
    settings = call.context.settings
    count = _count(call.param("_count"), settings.default_page_size, settings.max_page_size)
    since = _instant_start("_since", call.param("_since"))
    at_range = _instant_range("_at", call.param("_at"))
    at = at_range[1] if at_range else None
    cursor = decode_cursor(call.param("_cursor"))
    store = call.context.store

    rows: list[StoredResource] = []
    if count > 0:
        rows = store.history(
            resource_type, id, since=since, at=at, before=cursor, res_keys=keys, limit=count + 1
        )
    has_next = len(rows) > count
    rows = rows[:count]
    total = None
    if at_range is None:
        total = store.count_history(resource_type, id, since=since, res_keys=keys)
    shown = rows if at_range is None else _current_during(call, rows, at_range[0])

    base = f"{call.context.fhir_base_url}/{path}"
    given = [(key, value) for key, value in call.params if key not in ("_format", "_pretty")]
    links = [("self", page_url(base, given))]
    if has_next:
        kept = [(key, value) for key, value in given if key != "_cursor"]
        links.append(("next", page_url(base, [*kept, ("_cursor", encode_cursor(rows[-1]))])))
    summary = check_summary(call.param("_summary"))
    elements = parse_elements(call.param("_elements"))
    entries = [_entry(call, stored, summary, elements) for stored in shown]
    return json_response(bundle("history", entries, total=total, links=links), call.fmt)


def _check_parameters(call: Call) -> None:
    if call.lenient:
        return
    for name, _ in call.params:
        if name not in _PARAMETERS:
            raise invalid_parameter(name, "not a history parameter (_count, _since, _at)")


def _count(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not value.isdigit():
        raise invalid_parameter("_count", "must be a whole number")
    return min(int(value), maximum)


def _instant_range(name: str, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    from isocenter.search.dates import date_range

    try:
        return date_range(value.replace(" ", "+"))
    except ValueError as exc:
        raise invalid_parameter(name, f"not a FHIR date/time: {value!r}") from exc


def _instant_start(name: str, value: str | None) -> int | None:
    bounds = _instant_range(name, value)
    return bounds[0] if bounds else None


def _current_during(call: Call, rows: list[StoredResource], start: int) -> list[StoredResource]:
    """Versions whose successor (if any) came after ``start`` (http.html#history _at)."""
    kept = []
    for stored in rows:
        successor = call.context.store.vread(
            stored.resource_type, stored.id, stored.version_id + 1
        )
        if successor is None or successor.last_updated > start:
            kept.append(stored)
    return kept


def _entry(
    call: Call, stored: StoredResource, summary: str | None, elements: list[str] | None
) -> dict[str, Any]:
    base = call.context.fhir_base_url
    entry: dict[str, Any] = {"fullUrl": full_url(base, stored)}
    if not stored.deleted:
        entry["resource"] = entry_resource(stored, summary, elements, pretty=call.fmt.pretty)
    entry["request"] = _request(stored)
    entry["response"] = {
        "status": "200 OK" if stored.version_id > 1 or stored.deleted else "201 Created",
        "etag": etag(stored.version_id),
        "lastModified": to_instant(stored.last_updated),
    }
    return entry


def _request(stored: StoredResource) -> dict[str, str]:
    """The interaction that made the version (bundle.html#history)."""
    url = f"{stored.resource_type}/{stored.id}"
    if stored.deleted:
        return {"method": "DELETE", "url": url}
    if stored.version_id == 1:
        return {"method": "POST", "url": stored.resource_type}
    return {"method": "PUT", "url": url}


def encode_cursor(stored: StoredResource) -> str:
    key = [stored.last_updated, stored.resource_type, stored.id, stored.version_id]
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(value: str | None) -> HistoryCursor | None:
    """The position a ``_cursor`` names; a tampered cursor is 400."""
    if value is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        last_updated, resource_type, id, version_id = orjson.loads(raw)
        if not (
            isinstance(last_updated, int)
            and isinstance(resource_type, str)
            and isinstance(id, str)
            and isinstance(version_id, int)
        ):
            raise ValueError(value)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid_parameter("_cursor", "not a cursor this server issued") from exc
    return HistoryCursor(last_updated, resource_type, id, version_id)
