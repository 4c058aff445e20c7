"""The search engine: a FHIR search request in, a page of matches and includes out.

http://hl7.org/fhir/R4/search.html. ``SearchEngine.search`` parses the parameters
(``query``), builds one SQL statement for the page (``sql``, ``sort``), pages by keyset
with an opaque cursor (``paging``), counts only when the total is not already known, and
adds ``_include``/``_revinclude`` results (``include``). The HTTP layer turns the result
into a searchset Bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import ColumnElement, Connection, Select, func, select

from isocenter import outcomes
from isocenter.search import paging
from isocenter.search.definitions import Registry
from isocenter.search.include import RESOURCE_COLUMNS, included
from isocenter.search.query import QueryParser, SearchQuery
from isocenter.search.sort import after, order_terms
from isocenter.search.sql import Context, resource_filter
from isocenter.search.visibility import (
    Restriction,
    parse_restrictions,
    permitted,
    restricted,
    visible_ids_statement,
    visible_keys_statement,
    visible_one_statement,
)
from isocenter.store import schema
from isocenter.store.engine import READ_ONLY
from isocenter.store.instants import now_microseconds
from isocenter.store.repository import Store, StoredResource


@dataclass
class SearchResult:
    total: int | None
    matches: list[StoredResource]
    included: list[StoredResource]
    self_params: list[tuple[str, str]]
    next_params: list[tuple[str, str]] | None
    previous_params: list[tuple[str, str]] | None
    summary: str | None
    elements: list[str] | None
    count_only: bool


@dataclass
class _Page:
    rows: list[Any]
    has_next: bool
    has_previous: bool


class SearchEngine:
    """Type-level search over one store (search.html#search)."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        fhir_base_url: str,
        default_count: int = 50,
        max_count: int = 1000,
    ) -> None:
        self.store = store
        self.registry = registry
        self.fhir_base_url = fhir_base_url.rstrip("/")
        self._parser = QueryParser(registry, self.fhir_base_url, default_count, max_count)
        self._visible_one = visible_one_statement(self.fhir_base_url)

    def search(
        self,
        resource_type: str,
        params: list[tuple[str, str]],
        *,
        lenient: bool = False,
        compartment: str | None = None,
        shared: bool = False,
        restrictions: Sequence[Restriction] = (),
        searchable: Callable[[str], bool] | None = None,
    ) -> SearchResult:
        """One page of ``resource_type`` resources matching ``params``.

        Access control narrows it (``visibility``): ``compartment`` to a Patient's
        compartment, with ``shared`` also the shared resources that compartment refers
        to; ``restrictions`` (scope query restrictions, OR-ed) ANDed to the criteria;
        ``searchable`` the resource types that chains and ``_has`` may reach.
        """
        query = self._parser.parse(resource_type, params, lenient=lenient)
        if searchable is not None:
            query.criteria = [permitted(c, searchable) for c in query.criteria]
        context = self._context(compartment, shared)
        binding = paging.binding(resource_type, query.self_params, compartment)
        cursor = _cursor(query, binding)
        with self._reader() as conn:
            snapshot = cursor.snapshot if cursor else _max_key(conn)
            terms = resource_filter(schema.resource, resource_type, query.criteria, context)
            terms.append(schema.resource.c.res_key <= snapshot)
            if restrictions:
                parsed = parse_restrictions(self._parser, resource_type, restrictions)
                terms.append(restricted(schema.resource, resource_type, parsed, context))
            if query.count_only:
                total = None if query.total == "none" else _count(conn, terms)
                return _count_result(query, total)
            page = _read_page(conn, terms, query, cursor)
            total = _total(conn, terms, query, cursor, page)
            extra = included(conn, page.rows, query, context) if page.rows else []
        return SearchResult(
            total=total,
            matches=[_stored(row) for row in page.rows],
            included=[_stored(row) for row in extra],
            self_params=query.self_params,
            next_params=_link(query, page, snapshot, total, binding, backward=False),
            previous_params=_link(query, page, snapshot, total, binding, backward=True),
            summary=query.summary,
            elements=query.elements,
            count_only=False,
        )

    def matching_ids(
        self, resource_type: str, query: str, *, connection: Connection | None = None
    ) -> list[str]:
        """Ids of current resources matching a search query string (conditional
        references, create and update: http.html#cond-update), seen from ``connection``."""
        params = parse_qsl(query, keep_blank_values=True)
        parsed = self._parser.parse(resource_type, params)
        res = schema.resource
        terms = resource_filter(res, resource_type, parsed.criteria, self._context(None))
        statement = select(res.c.id).where(*terms).order_by(res.c.res_key)
        if connection is not None:
            return list(connection.execute(statement).scalars())
        with self._reader() as conn:
            return list(conn.execute(statement).scalars())

    def visible_ids(
        self,
        resource_type: str,
        ids: Sequence[str],
        *,
        compartment: str | None,
        restrictions: Sequence[Restriction] = (),
    ) -> set[str]:
        """Which of ``ids`` (current or deleted) a limited access may see: in the
        compartment or shared and referred to from it, and meeting a restriction."""
        if not ids:
            return set()
        if compartment is not None and not restrictions and len(ids) == 1:
            values = {"resource_type": resource_type, "id": ids[0], "patient_id": compartment}
            with self._reader() as conn:
                return set(conn.execute(self._visible_one, values).scalars())
        parsed = None
        if restrictions:
            parsed = parse_restrictions(self._parser, resource_type, restrictions)
        context = self._context(compartment, shared=True)
        statement = visible_ids_statement(resource_type, ids, parsed, context)
        with self._reader() as conn:
            return set(conn.execute(statement).scalars())

    def visible_keys(
        self,
        types: Mapping[str, Sequence[Restriction]] | None,
        *,
        compartment: str | None,
    ) -> Select[Any]:
        """A selectable of the keys of resources a limited access may see the history of:
        ``types`` maps each visible type to its restrictions (``()`` for none); ``None``
        is every type."""
        parsed_types = None
        if types is not None:
            parsed_types = {
                t: parse_restrictions(self._parser, t, r) if r else None
                for t, r in types.items()
            }
        return visible_keys_statement(parsed_types, self._context(compartment, shared=True))

    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        """A connection for reading: one snapshot for page and count, no write lock."""
        with self.store.engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})

    def _context(self, compartment: str | None, shared: bool = False) -> Context:
        return Context(
            self.fhir_base_url, self.store.dialect, now_microseconds(), compartment, shared
        )


def _cursor(query: SearchQuery, binding: str) -> paging.Cursor | None:
    if query.cursor is None:
        return None
    try:
        return paging.decode(query.cursor, binding, width=len(query.sort) + 1)
    except ValueError as error:
        raise outcomes.invalid_parameter("_cursor", str(error)) from None


def _read_page(
    conn: Connection,
    terms: list[ColumnElement[bool]],
    query: SearchQuery,
    cursor: paging.Cursor | None,
) -> _Page:
    """count+1 rows after (or, going back, before) the cursor, to know if more follow."""
    res = schema.resource
    forward_order = order_terms(res, query.sort)
    backward = cursor is not None and cursor.backward
    order = [term.reversed() for term in forward_order] if backward else forward_order
    sort_values = [term.expression.label(f"sort_{i}") for i, term in enumerate(order[:-1])]
    statement = select(*[res.c[name] for name in RESOURCE_COLUMNS], *sort_values)
    statement = statement.where(*terms)
    if cursor is not None:
        statement = statement.where(after(order, cursor.boundary))
    statement = statement.order_by(*[term.clause() for term in order]).limit(query.count + 1)
    rows = list(conn.execute(statement))
    more = len(rows) > query.count
    rows = rows[: query.count]
    if backward:
        rows.reverse()
        return _Page(rows, has_next=bool(rows), has_previous=more)
    return _Page(rows, has_next=more, has_previous=cursor is not None and bool(rows))


def _total(
    conn: Connection,
    terms: list[ColumnElement[bool]],
    query: SearchQuery,
    cursor: paging.Cursor | None,
    page: _Page,
) -> int | None:
    """search.html#total: carried by the cursor, known from a short first page, or counted.

    ``estimate`` is answered with the accurate count.
    """
    if query.total == "none":
        return None
    if cursor is not None:
        return cursor.total
    if not page.has_next:
        return len(page.rows)
    return _count(conn, terms)


def _link(
    query: SearchQuery,
    page: _Page,
    snapshot: int,
    total: int | None,
    binding: str,
    *,
    backward: bool,
) -> list[tuple[str, str]] | None:
    if not (page.has_previous if backward else page.has_next):
        return None
    row = page.rows[0] if backward else page.rows[-1]
    boundary = (*[row._mapping[f"sort_{i}"] for i in range(len(query.sort))], row.res_key)
    cursor = paging.Cursor(snapshot, tuple(boundary), backward, total)
    kept = [pair for pair in query.self_params if pair[0] not in ("_cursor", "_count")]
    return [*kept, ("_count", str(query.count)), ("_cursor", paging.encode(cursor, binding))]


def _count_result(query: SearchQuery, total: int | None) -> SearchResult:
    return SearchResult(
        total=total,
        matches=[],
        included=[],
        self_params=query.self_params,
        next_params=None,
        previous_params=None,
        summary=query.summary,
        elements=query.elements,
        count_only=True,
    )


def _count(conn: Connection, terms: list[ColumnElement[bool]]) -> int:
    statement = select(func.count()).select_from(schema.resource).where(*terms)
    return int(conn.execute(statement).scalar_one())


def _max_key(conn: Connection) -> int:
    return int(conn.execute(select(func.max(schema.resource.c.res_key))).scalar() or 0)


def _stored(row: Any) -> StoredResource:
    return StoredResource(
        row.resource_type,
        row.id,
        row.version_id,
        row.last_updated,
        bool(row.deleted),
        row.content,
    )
