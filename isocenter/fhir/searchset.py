"""Search: GET [base]/[type] and POST [base]/[type]/_search (R4 http.html#search).

The query goes to ``isocenter.search``'s SearchEngine; this module turns its result
into a searchset Bundle with ``total``, absolute self/next/previous links on the public
FHIR base, and entries with ``search.mode`` match or include (search.html#return).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from isocenter.fhir.access_control import require, search_limits, visible_included
from isocenter.fhir.bodies import check_media_type
from isocenter.fhir.bundles import bundle, entry_resource, full_url, page_url
from isocenter.fhir.context import Call
from isocenter.fhir.responses import json_response
from isocenter.outcomes import invalid
from isocenter.store.repository import StoredResource

FORM = "application/x-www-form-urlencoded"


def search_type(call: Call) -> Response:
    """GET [base]/[type]?params."""
    return _search(call, call.resource_type(), call.params)


def search_type_post(call: Call) -> Response:
    """POST [base]/[type]/_search: form body and query parameters together."""
    resource_type = call.resource_type()
    check_media_type(call.header("content-type"), {FORM})
    try:
        form = parse_qsl(call.body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise invalid("the form body is not UTF-8") from exc
    return _search(call, resource_type, [*call.params, *form])


def _search(call: Call, resource_type: str, params: list[tuple[str, str]]) -> Response:
    access = require(call, resource_type, "s", params=params)
    engine = call.context.search_engine()
    limits = search_limits(access, resource_type)
    result = engine.search(resource_type, params, lenient=call.lenient, **limits)
    included = visible_included(access, result.included, engine)
    base = f"{call.context.fhir_base_url}/{resource_type}"
    links = [("self", page_url(base, result.self_params))]
    if result.next_params is not None:
        links.append(("next", page_url(base, result.next_params)))
    if result.previous_params is not None:
        links.append(("previous", page_url(base, result.previous_params)))
    entries: list[dict[str, Any]] = []
    if not result.count_only:
        entries = [_entry(call, stored, "match", result) for stored in result.matches]
        entries += [_entry(call, stored, "include", result) for stored in included]
    searchset = bundle("searchset", entries, total=result.total, links=links)
    return json_response(searchset, call.fmt)


def _entry(call: Call, stored: StoredResource, mode: str, result: Any) -> dict[str, Any]:
    return {
        "fullUrl": full_url(call.context.fhir_base_url, stored),
        "resource": entry_resource(
            stored, result.summary, result.elements, pretty=call.fmt.pretty
        ),
        "search": {"mode": mode},
    }
