"""Bundles the server answers with: searchset and history (R4 bundle.html)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from isocenter.fhir.summary import is_subsetting, subset
from isocenter.store.instants import now_microseconds, to_instant
from isocenter.store.repository import StoredResource


def page_url(base: str, params: Sequence[tuple[str, str]]) -> str:
    """An absolute paging link: the base plus the (encoded) parameters."""
    return f"{base}?{urlencode(list(params))}" if params else base


def bundle(
    bundle_type: str,
    entries: list[dict[str, Any]],
    *,
    total: int | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": to_instant(now_microseconds())},
        "type": bundle_type,
    }
    if total is not None:
        result["total"] = total
    if links:
        result["link"] = [{"relation": relation, "url": url} for relation, url in links]
    if entries:
        result["entry"] = entries
    return result


def entry_resource(
    stored: StoredResource, summary: str | None, elements: list[str] | None, *, pretty: bool
) -> Any:
    """The stored text as a JSON fragment (not parsed), or the subsetted resource.

    Indented output parses the text: orjson writes fragments as they are.
    """
    assert stored.content is not None
    if is_subsetting(summary, elements):
        return subset(stored.parsed(), summary, elements)
    if pretty:
        return stored.parsed()
    return orjson.Fragment(stored.content)


def full_url(base: str, stored: StoredResource) -> str:
    return f"{base}/{stored.resource_type}/{stored.id}"
