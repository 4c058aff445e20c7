"""The opaque ``_cursor`` of next and previous links (search.html#paging, keyset paging).

A cursor holds where a page ended (the boundary row's sort values and ``res_key``), which
way to read on, the snapshot bound (the largest ``res_key`` when the first page was
served, so resources created later never shift pages or change the total) and the total.
It is base64url JSON plus a digest over the payload and the search it belongs to, so a
cursor that was altered, truncated or moved onto another search is refused with a 400.
The digest is a check, not a secret: a client that recomputes it only reaches other pages
of its own search, still under its own compartment restriction.

The snapshot bound is exact on SQLite (one writer at a time). On PostgreSQL a transaction
that drew a smaller ``res_key`` but commits after the first page can still appear on a
later page; updates keep their ``res_key`` and may move within the order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

_VERSION = 1
_DIGEST_BYTES = 12


@dataclass(frozen=True)
class Cursor:
    snapshot: int
    boundary: tuple[Any, ...]
    backward: bool
    total: int | None


def encode(cursor: Cursor, binding: str) -> str:
    payload = json.dumps(
        [_VERSION, cursor.snapshot, list(cursor.boundary), cursor.backward, cursor.total],
        separators=(",", ":"),
    ).encode()
    token = payload + b"." + _digest(payload, binding).encode()
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def decode(text: str, binding: str, width: int) -> Cursor:
    """The cursor ``text`` holds; ValueError if it is not one this search issued."""
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload, _, digest = token.rpartition(b".")
        if digest.decode() != _digest(payload, binding):
            raise ValueError("cursor does not belong to this search")
        version, snapshot, boundary, backward, total = json.loads(payload)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, TypeError) as error:
        raise ValueError("malformed cursor") from error
    if version != _VERSION or not isinstance(snapshot, int) or not isinstance(backward, bool):
        raise ValueError("malformed cursor")
    if not isinstance(boundary, list) or len(boundary) != width:
        raise ValueError("malformed cursor")
    if not all(value is None or isinstance(value, int | float | str) for value in boundary):
        raise ValueError("malformed cursor")
    if total is not None and not isinstance(total, int):
        raise ValueError("malformed cursor")
    return Cursor(snapshot, tuple(boundary), backward, total)


def binding(resource_type: str, params: list[tuple[str, str]], compartment: str | None) -> str:
    """What a cursor is tied to: the search itself, without its page size and cursor."""
    kept = [pair for pair in params if pair[0] not in ("_cursor", "_count")]
    return json.dumps([resource_type, compartment, kept])


def _digest(payload: bytes, binding: str) -> str:
    hashed = hashlib.sha256(binding.encode() + b"\0" + payload).digest()[:_DIGEST_BYTES]
    return base64.urlsafe_b64encode(hashed).decode()
