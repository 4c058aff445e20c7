"""Transaction, batch and collection Bundles (http://hl7.org/fhir/R4/http.html#transaction).

``process_bundle`` is what ``POST /fhir`` runs: a transaction is all or nothing in one
store writer, a batch runs each entry in its own. ``load_bundle`` is what the loader runs
for any Bundle file: transactions and batches as above but keeping the ids the data gives,
and collection/searchset/message/document Bundles by storing each entry's resource under
its own id (update semantics), all in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from isocenter.ingest.references import (
    LOCAL_URN_PREFIXES,
    ConditionalReferences,
    IdMatcher,
    first_unresolved,
    no_match,
    rewrite_local_references,
    write_in_waves,
)
from isocenter.ingest.validation import ID_PATTERN, check_resource
from isocenter.outcomes import (
    OperationOutcomeError,
    conflict,
    gone,
    invalid,
    not_found,
    not_supported,
)
from isocenter.store.instants import to_instant
from isocenter.store.repository import Store, StoredResource, Writer

# http.html#trules: DELETE, then POST, then PUT/PATCH, then GET/HEAD.
_METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


@dataclass
class _Entry:
    """One Bundle entry on its way through: the request, then what it resolved to."""

    index: int
    method: str
    resource_type: str
    id: str | None
    query: str | None
    resource: dict[str, Any] | None
    full_url: str | None
    if_match: int | None = None
    if_none_exist: str | None = None
    write: bool = False
    response: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] | None = None
    holders: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Bundle.entry[{self.index}]"


@dataclass
class BundleResult:
    """The response Bundle and every resource version the Bundle wrote."""

    response: dict[str, Any]
    written: list[StoredResource]


def process_bundle(
    store: Store,
    search: IdMatcher,
    bundle: dict[str, Any],
    *,
    fhir_base_url: str,
    keep_ids: bool = False,
    references: ConditionalReferences | None = None,
) -> dict[str, Any]:
    """Run a transaction or batch Bundle; return the transaction-/batch-response Bundle.

    POST entries get a new server-assigned id (FHIR create semantics), unless
    ``keep_ids`` (the loader) keeps a resource.id the entry gives. A failing transaction
    raises ``OperationOutcomeError`` naming ``Bundle.entry[i]`` and writes nothing.
    """
    return run_bundle(
        store,
        search,
        bundle,
        fhir_base_url=fhir_base_url,
        keep_ids=keep_ids,
        references=references,
    ).response


def load_bundle(
    store: Store,
    search: IdMatcher,
    bundle: dict[str, Any],
    *,
    fhir_base_url: str,
    references: ConditionalReferences | None = None,
    writer: Writer | None = None,
) -> BundleResult:
    """Load any Bundle: transaction/batch as requested (ids kept), other types' entries.

    Collection, searchset, message and document Bundles are not stored themselves: each
    entry's resource is stored under its id (or a new one when it has none), in one
    transaction. Searchset entries with search.mode ``outcome`` are skipped; an entry whose
    resource is itself a Bundle is stored as a Bundle resource. With ``writer``, the
    Bundle runs inside a savepoint of that writer's transaction (the loader groups files
    into fewer commits); otherwise in a transaction of its own.
    """
    if bundle.get("type") not in ("transaction", "batch"):
        bundle = _as_transaction(bundle)
    return run_bundle(
        store,
        search,
        bundle,
        fhir_base_url=fhir_base_url,
        keep_ids=True,
        references=references,
        allow_repeats=True,
        writer=writer,
    )


def run_bundle(
    store: Store,
    search: IdMatcher,
    bundle: dict[str, Any],
    *,
    fhir_base_url: str,
    keep_ids: bool,
    references: ConditionalReferences | None = None,
    allow_repeats: bool = False,
    writer: Writer | None = None,
) -> BundleResult:
    """Run a transaction or batch Bundle (see ``process_bundle``), reporting what it wrote.

    ``allow_repeats`` lets two entries write the same resource (successive versions; a
    collection may repeat one), which http.html#trules forbids for a transaction.
    """
    resource_types = _resource_types()
    _check_bundle(bundle)
    references = references or ConditionalReferences(search, resource_types)
    raw_entries = bundle.get("entry") or []
    context = _Context(search, references, resource_types, fhir_base_url, keep_ids)
    if bundle["type"] == "transaction":
        entries = [
            context.parse(index, raw)
            for index, raw in enumerate(raw_entries)
            if raw is not None
        ]
        with atomic(store, writer) as scope:
            written = _Transaction(scope, context, allow_repeats).run(entries)
        return BundleResult(_response_bundle("transaction-response", entries), written)
    return _run_batch(store, context, raw_entries, writer)


@contextmanager
def atomic(store: Store, writer: Writer | None) -> Iterator[Writer]:
    """A new transaction, or a savepoint inside ``writer``'s: all of it stays or none."""
    if writer is None:
        with store.writer() as new_writer:
            yield new_writer
        return
    with writer.connection.begin_nested():
        yield writer


def _run_batch(
    store: Store, context: _Context, raw_entries: list[Any], writer: Writer | None
) -> BundleResult:
    entries: list[_Entry] = []
    written: list[StoredResource] = []
    for index, raw in enumerate(raw_entries):
        if raw is None:
            continue
        try:
            entries.append(context.parse(index, raw))
        except OperationOutcomeError as error:
            entries.append(_failed_entry(index, error))
    for entry in sorted(entries, key=_processing_order):
        if entry.outcome is not None:
            continue
        try:
            with atomic(store, writer) as scope:
                written.extend(_Transaction(scope, context, False).run([entry]))
        except OperationOutcomeError as error:
            _fail(entry, error)
    return BundleResult(_response_bundle("batch-response", entries), written)


@dataclass
class _Context:
    """What every entry of one Bundle shares: search, resolved fullUrls, id policy."""

    search: IdMatcher
    references: ConditionalReferences
    resource_types: Collection[str]
    fhir_base_url: str
    keep_ids: bool
    full_urls: dict[str, str] = field(default_factory=dict)

    def parse(self, index: int, raw: Any) -> _Entry:
        with _at(index):
            return self._parse(index, raw)

    def _parse(self, index: int, raw: Any) -> _Entry:
        if not isinstance(raw, dict):
            raise invalid("an entry must be a JSON object")
        request = raw.get("request")
        if not isinstance(request, dict):
            raise invalid("entry.request is missing")
        method = request.get("method")
        if method not in _METHOD_ORDER:
            raise invalid(f"entry.request.method {method!r} is not an HTTP method FHIR knows")
        if method in ("PATCH", "HEAD"):
            raise not_supported(f"{method} entries are not supported")
        resource_type, id, query = self._target(request.get("url"))
        resource = raw.get("resource")
        holders: list[dict[str, Any]] = []
        if method in ("POST", "PUT"):
            holders = check_resource(resource, self.resource_types, where="resource")
            if resource["resourceType"] != resource_type:
                raise invalid(
                    f"resource type {resource['resourceType']} does not match the request "
                    f"url {request.get('url')!r}"
                )
        entry = _Entry(index, method, resource_type, id, query, resource, raw.get("fullUrl"))
        entry.if_match = _version_of_etag(request.get("ifMatch"))
        entry.if_none_exist = request.get("ifNoneExist")
        entry.holders = holders
        self._check_shape(entry)
        return entry

    def _target(self, url: Any) -> tuple[str, str | None, str | None]:
        if not isinstance(url, str) or not url:
            raise invalid("entry.request.url is missing")
        base = self.fhir_base_url.rstrip("/") + "/"
        if url.startswith(base):
            url = url[len(base) :]
        path, _, query = url.lstrip("/").partition("?")
        if "://" in path:
            raise invalid(f"entry.request.url {url!r} is not on this server")
        parts = path.split("/")
        if parts[0] not in self.resource_types:
            raise not_found(parts[0])
        if len(parts) > 2:
            raise not_supported(
                f"entry.request.url {url!r}: only Type and Type/id are supported"
            )
        id = parts[1] if len(parts) == 2 else None
        if id is not None and not ID_PATTERN.fullmatch(id):
            raise invalid(f"{id!r} is not a valid id")
        return parts[0], id, query or None

    def _check_shape(self, entry: _Entry) -> None:
        if entry.method == "POST" and (entry.id or entry.query):
            raise invalid("POST goes to the type's url (Type), not to an id or a query")
        if entry.method in ("PUT", "DELETE") and not (entry.id or entry.query):
            raise invalid(f"{entry.method} needs Type/id or Type?query")
        if entry.method == "DELETE" and entry.query:
            raise not_supported("conditional delete is not supported")
        if entry.method == "GET" and (entry.query or not entry.id):
            raise not_supported("search inside a Bundle is not supported; read Type/id only")
        given_id = (entry.resource or {}).get("id")
        if entry.method == "PUT" and entry.id and given_id != entry.id:
            raise invalid(f"resource.id must equal the id in the url ({entry.id})")


class _Transaction:
    """Entries processed together inside one writer (http.html#trules)."""

    def __init__(self, writer: Writer, context: _Context, allow_repeats: bool) -> None:
        self.writer = writer
        self.context = context
        self.allow_repeats = allow_repeats
        self.written: list[StoredResource] = []

    def run(self, entries: list[_Entry]) -> list[StoredResource]:
        ordered = sorted(entries, key=_processing_order)
        for entry in ordered:
            with _at(entry.index):
                self._identify(entry)
        self._check_repeats(ordered)
        for entry in ordered:
            self._map_full_url(entry)
        for entry in ordered:
            if entry.write and entry.resource is not None:
                with _at(entry.index):
                    rewrite_local_references(entry.holders, self.context.full_urls)
        for entry in ordered:
            if entry.method == "DELETE":
                self._delete(entry)
        self._write([entry for entry in ordered if entry.write])
        for entry in ordered:
            if entry.method == "GET":
                with _at(entry.index):
                    self._read(entry)
        return self.written

    def _identify(self, entry: _Entry) -> None:
        """Decide each entry's resource id: given, new, or found by a conditional query."""
        if entry.method == "POST":
            self._identify_create(entry)
        elif entry.method == "PUT":
            self._identify_update(entry)

    def _identify_create(self, entry: _Entry) -> None:
        assert entry.resource is not None
        if entry.if_none_exist:
            matches = self._matches(entry.resource_type, entry.if_none_exist)
            if len(matches) == 1:
                # http.html#ccreate: one match means no create; answer with the match.
                entry.id = matches[0]
                current = self.writer.read(entry.resource_type, entry.id)
                assert current is not None
                entry.response = _response(current, 200)
                return
            if matches:
                raise _precondition_failed("ifNoneExist", entry.if_none_exist, len(matches))
        given = entry.resource.get("id")
        entry.id = given if self.context.keep_ids and given else str(uuid.uuid4())
        entry.resource["id"] = entry.id
        entry.write = True

    def _identify_update(self, entry: _Entry) -> None:
        assert entry.resource is not None
        entry.write = True
        if entry.id is not None:
            return
        assert entry.query is not None
        matches = self._matches(entry.resource_type, entry.query)
        if len(matches) > 1:
            raise _precondition_failed("conditional update", entry.query, len(matches))
        given = entry.resource.get("id")
        if matches and given and given != matches[0]:
            raise invalid(f"resource.id {given} is not the id the query matched ({matches[0]})")
        # http.html#cond-update: no match creates, under the given id or a new one.
        entry.id = matches[0] if matches else given or str(uuid.uuid4())
        entry.resource["id"] = entry.id

    def _matches(self, resource_type: str, query: str) -> list[str]:
        return self.context.search.matching_ids(
            resource_type, query, connection=self.writer.connection
        )

    def _check_repeats(self, entries: list[_Entry]) -> None:
        if self.allow_repeats:
            return
        seen: dict[tuple[str, str], int] = {}
        for entry in entries:
            if entry.id is None or entry.method == "GET":
                continue
            key = (entry.resource_type, entry.id)
            if key in seen:
                raise _labelled(
                    entry.index,
                    invalid(
                        f"{key[0]}/{key[1]} is also the target of Bundle.entry[{seen[key]}]"
                    ),
                )
            seen[key] = entry.index

    def _map_full_url(self, entry: _Entry) -> None:
        if entry.full_url and entry.full_url.startswith(LOCAL_URN_PREFIXES) and entry.id:
            self.context.full_urls[entry.full_url] = f"{entry.resource_type}/{entry.id}"

    def _delete(self, entry: _Entry) -> None:
        assert entry.id is not None
        deleted = self.writer.delete(entry.resource_type, entry.id)
        if deleted is None:
            entry.response = {"status": _STATUS_TEXT[204]}
            return
        entry.response = _response(deleted, 200)

    def _write(self, entries: list[_Entry]) -> None:
        left = write_in_waves(
            entries,
            _holders_of,
            self._put,
            self.context.references,
            self.writer.connection,
            _raise_at,
        )
        if left:
            entry = left[0]
            reference = first_unresolved(entry.holders) or "?"
            raise _labelled(entry.index, no_match(reference))

    def _put(self, entries: list[_Entry]) -> None:
        for entry in entries:
            if entry.if_match is not None:
                with _at(entry.index):
                    self._check_version(entry)
        stored = self.writer.put_many([_resource_of(entry) for entry in entries])
        for entry, version in zip(entries, stored, strict=True):
            entry.response = _response(version, 201 if version.version_id == 1 else 200)
        self.written.extend(stored)

    def _check_version(self, entry: _Entry) -> None:
        assert entry.id is not None
        current = self.writer.read(entry.resource_type, entry.id)
        version = current.version_id if current and not current.deleted else None
        if version != entry.if_match:
            raise conflict(
                f"{entry.resource_type}/{entry.id} is at version {version}, "
                f"not {entry.if_match} (If-Match)",
                status=412,
            )

    def _read(self, entry: _Entry) -> None:
        assert entry.id is not None
        current = self.writer.read(entry.resource_type, entry.id)
        if current is None:
            raise not_found(entry.resource_type, entry.id)
        if current.deleted:
            raise gone(entry.resource_type, entry.id)
        entry.response = _response(current, 200)
        entry.resource = current.parsed()


def _resource_of(entry: _Entry) -> dict[str, Any]:
    assert entry.resource is not None
    return entry.resource


def _holders_of(entry: _Entry) -> list[dict[str, Any]]:
    return entry.holders


def _raise_at(entry: _Entry, error: OperationOutcomeError) -> None:
    raise _labelled(entry.index, error)


def _processing_order(entry: _Entry) -> tuple[int, int]:
    return _METHOD_ORDER[entry.method], entry.index


@contextmanager
def _at(index: int) -> Iterator[None]:
    """Name the entry in any error raised while handling it."""
    try:
        yield
    except OperationOutcomeError as error:
        if error.diagnostics.startswith("Bundle.entry["):
            raise
        raise _labelled(index, error) from error


def _labelled(index: int, error: OperationOutcomeError) -> OperationOutcomeError:
    label = f"Bundle.entry[{index}]"
    return OperationOutcomeError(
        error.status,
        error.code,
        f"{label}: {error.diagnostics}",
        expression=[label],
        headers=error.headers,
    )


def _precondition_failed(what: str, query: str, count: int) -> OperationOutcomeError:
    return OperationOutcomeError(
        412, "multiple-matches", f"{what} {query!r} matches {count} resources"
    )


def _version_of_etag(etag: Any) -> int | None:
    """``W/"3"`` (or ``"3"``, or ``3``) to 3; http.html#concurrency."""
    if etag is None:
        return None
    text = str(etag).removeprefix("W/").strip('"')
    if not text.isdigit():
        raise invalid(f'entry.request.ifMatch {etag!r} is not a version ETag like W/"1"')
    return int(text)


def _response(stored: StoredResource, status: int) -> dict[str, Any]:
    return {
        "status": _STATUS_TEXT[status],
        "location": f"{stored.resource_type}/{stored.id}/_history/{stored.version_id}",
        "etag": f'W/"{stored.version_id}"',
        "lastModified": to_instant(stored.last_updated),
    }


def _failed_entry(index: int, error: OperationOutcomeError) -> _Entry:
    entry = _Entry(index, "GET", "", None, None, None, None)
    _fail(entry, error)
    return entry


def _fail(entry: _Entry, error: OperationOutcomeError) -> None:
    entry.response = {"status": f"{error.status} {_reason(error.status)}"}
    entry.outcome = error.outcome()


def _reason(status: int) -> str:
    reasons = {
        400: "Bad Request",
        404: "Not Found",
        409: "Conflict",
        410: "Gone",
        412: "Precondition Failed",
        422: "Unprocessable Entity",
    }
    return reasons.get(status, "Error")


def _response_bundle(bundle_type: str, entries: list[_Entry]) -> dict[str, Any]:
    response_entries = []
    for entry in sorted(entries, key=lambda item: item.index):
        response = dict(entry.response)
        if entry.outcome is not None:
            response["outcome"] = entry.outcome
        item: dict[str, Any] = {"response": response}
        if entry.method == "GET" and entry.resource is not None:
            item["resource"] = entry.resource
        response_entries.append(item)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": bundle_type,
        "entry": response_entries,
    }


def _check_bundle(bundle: Any) -> None:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise invalid("the body must be a Bundle")
    if bundle.get("type") not in ("transaction", "batch"):
        raise invalid(f"Bundle.type must be transaction or batch, not {bundle.get('type')!r}")
    if not isinstance(bundle.get("entry", []), list):
        raise invalid("Bundle.entry must be an array", expression=["Bundle.entry"])


def _as_transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """A collection-like Bundle as a transaction of updates (creates for id-less resources)."""
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise invalid("Bundle.entry must be an array", expression=["Bundle.entry"])
    converted: list[Any] = []
    for raw in entries:
        resource = raw.get("resource") if isinstance(raw, dict) else None
        if not isinstance(resource, dict):
            converted.append(raw)
            continue
        if (raw.get("search") or {}).get("mode") == "outcome":
            # Kept as a gap so that Bundle.entry[i] in errors still counts the file's entries.
            converted.append(None)
            continue
        resource_type = resource.get("resourceType")
        id = resource.get("id")
        request = {"method": "PUT", "url": f"{resource_type}/{id}"}
        if id is None:
            request = {"method": "POST", "url": f"{resource_type}"}
        converted.append(
            {"fullUrl": raw.get("fullUrl"), "resource": resource, "request": request}
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": converted}


def _resource_types() -> frozenset[str]:
    from isocenter.search.definitions import load_registry

    return load_registry().resource_types()
