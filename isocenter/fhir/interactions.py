"""Instance and type interactions: read, vread, create, update, delete (R4 http.html)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from isocenter.fhir.access_control import check_readable, readable, require
from isocenter.fhir.audit import name_resource
from isocenter.fhir.bodies import ID_PATTERN, parse_resource
from isocenter.fhir.context import Call
from isocenter.fhir.responses import etag, json_response, text_response, version_headers
from isocenter.fhir.summary import check_summary, is_subsetting, parse_elements, subset
from isocenter.outcomes import OperationOutcomeError, conflict, gone, invalid, not_found
from isocenter.store.repository import StoredResource, VersionConflict


def read(call: Call) -> Response:
    """GET [base]/[type]/[id] (http.html#read): 404 unknown, 410 deleted, 304 unchanged."""
    resource_type = call.resource_type()
    id = call.id()
    access = require(call, resource_type, "r", id)
    stored = call.context.store.read(resource_type, id)
    stored = check_readable(call, access, stored, resource_type, id)
    if stored.deleted:
        raise gone(resource_type, id)
    return resource_response(call, stored)


def vread(call: Call) -> Response:
    """GET [base]/[type]/[id]/_history/[vid] (http.html#vread)."""
    resource_type = call.resource_type()
    id = call.id()
    version = call.path("vid")
    if ID_PATTERN.fullmatch(version) is None:
        raise invalid(f"malformed version id {version!r}")
    access = require(call, resource_type, "r", id)
    stored = None
    if version.isdigit():
        stored = call.context.store.vread(resource_type, id, int(version))
    if stored is None or not readable(access, stored, call.context.search_engine()):
        raise not_found(resource_type, f"{id}/_history/{version}")
    if stored.deleted:
        raise gone(resource_type, f"{id}/_history/{version}")
    return resource_response(call, stored)


def resource_response(call: Call, stored: StoredResource, status: int = 200) -> Response:
    """The stored resource, as is unless _summary/_elements subset it; 304 on a match."""
    headers = version_headers(stored)
    if _matches_none(call.header("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    summary = check_summary(call.param("_summary"))
    elements = parse_elements(call.param("_elements"))
    assert stored.content is not None
    if is_subsetting(summary, elements):
        return json_response(
            subset(stored.parsed(), summary, elements), call.fmt, status, headers
        )
    return text_response(stored.content, call.fmt, status, headers)


def _matches_none(if_none_match: str | None, current: str) -> bool:
    """True when If-None-Match names the current version (RFC 9110 13.1.2, weak compare)."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or current.removeprefix("W/") in tags


def create(call: Call) -> Response:
    """POST [base]/[type] (http.html#create): the server assigns the id; 201 + Location."""
    resource_type = call.resource_type()
    access = require(call, resource_type, "c")
    resource = parse_resource(call.header("content-type"), call.body, resource_type)
    condition = call.header("if-none-exist")
    with call.context.store.writer() as writer:
        if condition is not None:
            existing = _conditional_match(call, writer, resource_type, condition)
            if existing is not None:
                # The match is only shown to an access that may read it.
                name_resource(call.request.state, existing.id)
                shown = readable(access, existing, call.context.search_engine())
                return written_response(call, existing, 200, shown=shown)
        stored = writer.create(resource)
    name_resource(call.request.state, stored.id)
    return written_response(call, stored, 201)


def _conditional_match(
    call: Call, writer: Any, resource_type: str, condition: str
) -> StoredResource | None:
    """If-None-Exist (http.html#ccreate): one match is returned, several are 412."""
    query = condition.split("?", 1)[-1]
    ids = call.context.search_engine().matching_ids(
        resource_type, query, connection=writer.connection
    )
    if len(ids) > 1:
        raise conflict(f"If-None-Exist matches {len(ids)} resources", status=412)
    return writer.read(resource_type, ids[0]) if ids else None


def update(call: Call) -> Response:
    """PUT [base]/[type]/[id] (http.html#update): update or create; If-Match -> 412."""
    resource_type = call.resource_type()
    id = call.id()
    require(call, resource_type, "u", id)
    resource = parse_resource(call.header("content-type"), call.body, resource_type)
    if resource.get("id") != id:
        given = "missing" if resource.get("id") is None else repr(resource.get("id"))
        raise invalid(
            f"the resource's id ({given}) must equal the URL's id {id!r}",
            expression=[f"{resource_type}.id"],
        )
    expected = _expected_version(call.header("if-match"))
    try:
        with call.context.store.writer() as writer:
            current = writer.read(resource_type, id)
            stored = writer.put(resource, expected_version=expected)
    except VersionConflict as exc:
        raise conflict(str(exc), status=412) from exc
    created = current is None or current.deleted
    return written_response(call, stored, 201 if created else 200)


def _expected_version(if_match: str | None) -> int | None:
    """The version named by If-Match: W/"n" (http.html#concurrency)."""
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise invalid(f'If-Match must be W/"<versionId>", not {if_match!r}')
    return int(tag)


def written_response(
    call: Call, stored: StoredResource, status: int, *, shown: bool = True
) -> Response:
    """The answer to a write, shaped by Prefer: return= (http.html#ops); ``shown=False``
    answers as return=minimal does."""
    base = call.context.fhir_base_url
    location = f"{base}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
    headers = {**version_headers(stored), "Location": location}
    preference = call.prefer("return")
    if preference == "minimal" or not shown:
        return Response(status_code=status, headers=headers)
    if preference == "operationoutcome":
        diagnostics = f"{stored.resource_type}/{stored.id} is at version {stored.version_id}"
        return json_response(_information(diagnostics), call.fmt, status, headers)
    assert stored.content is not None
    return text_response(stored.content, call.fmt, status, headers)


def delete(call: Call) -> Response:
    """DELETE [base]/[type]/[id] (http.html#delete): 200 whether or not it was there."""
    resource_type = call.resource_type()
    id = call.id()
    require(call, resource_type, "d", id)
    with call.context.store.writer() as writer:
        deleted = writer.delete(resource_type, id)
    if deleted is None:
        message = f"{resource_type}/{id} did not exist or was already deleted"
        return json_response(_information(message), call.fmt)
    headers = {"ETag": etag(deleted.version_id)}
    message = f"{resource_type}/{id} deleted (version {deleted.version_id})"
    return json_response(_information(message), call.fmt, 200, headers)


def _information(diagnostics: str) -> dict[str, Any]:
    issue = OperationOutcomeError(200, "informational", diagnostics, severity="information")
    return issue.outcome()
