"""``_include`` and ``_revinclude``: resources that a page's matches refer to, or that
refer to them (search.html#include, search.html#revinclude).

Plain includes start from the page's matches; ``:iterate`` ones also start from what was
included, up to ``MAX_ITERATE_DEPTH`` rounds. Each resource appears once: never twice,
and never as an include when it is already a match. Under a compartment restriction an
included resource must be in the compartment, or be a shared resource (a Practitioner,
an Organization, ...) that some resource of the compartment refers to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, or_, select

from isocenter.search import clauses
from isocenter.search.query import Include, SearchQuery
from isocenter.search.sql import SHARED_TYPES, Context, in_compartment
from isocenter.store import schema

MAX_ITERATE_DEPTH = 3
_CHUNK = 500
RESOURCE_COLUMNS = (
    "res_key",
    "resource_type",
    "id",
    "version_id",
    "last_updated",
    "deleted",
    "content",
)


def included(
    conn: Connection, matches: Sequence[Any], query: SearchQuery, context: Context
) -> list[Any]:
    """The rows that the query's includes and revincludes add to a page of matches."""
    if not query.includes and not query.revincludes:
        return []
    seen = {row.res_key for row in matches}
    added: list[Any] = []
    frontier = list(matches)
    for depth in range(MAX_ITERATE_DEPTH + 1):
        found = []
        for rule, forward in _rules(query, depth):
            step = _follow if forward else _back
            for row in step(conn, frontier, rule, context):
                if row.res_key not in seen:
                    seen.add(row.res_key)
                    found.append(row)
        if not found:
            break
        added.extend(found)
        frontier = found
    return sorted(added, key=lambda row: (row.resource_type, row.id))


def _rules(query: SearchQuery, depth: int) -> list[tuple[Include, bool]]:
    """The rules for this round: all at first, then only the ``:iterate`` ones."""
    rules = [(rule, True) for rule in query.includes]
    rules += [(rule, False) for rule in query.revincludes]
    return [(rule, forward) for rule, forward in rules if depth == 0 or rule.iterate]


def _follow(
    conn: Connection, sources: Sequence[Any], rule: Include, context: Context
) -> list[Any]:
    """Targets of the rule's reference parameter, from sources of its source type."""
    keys = [row.res_key for row in sources if row.resource_type == rule.source_type]
    res = schema.resource
    ref = schema.search_reference.alias()
    joined = res.join(
        ref, and_(ref.c.target_type == res.c.resource_type, ref.c.target_id == res.c.id)
    )
    terms = [
        ref.c.resource_type == rule.source_type,
        ref.c.param == rule.parameter.code,
        clauses.local(ref, context.fhir_base_url),
        res.c.deleted == false(),
    ]
    if rule.target_type is not None:
        terms.append(ref.c.target_type == rule.target_type)
    if context.compartment is not None:
        terms.append(_visible(context.compartment, context.fhir_base_url))
    rows = []
    for chunk in _chunks(keys):
        statement = (
            select(*_columns()).select_from(joined).where(*terms, ref.c.res_key.in_(chunk))
        )
        rows.extend(conn.execute(statement))
    return rows


def _back(
    conn: Connection, targets: Sequence[Any], rule: Include, context: Context
) -> list[Any]:
    """Resources of the rule's source type whose reference parameter points at targets."""
    res = schema.resource
    ref = schema.search_reference.alias()
    joined = res.join(ref, ref.c.res_key == res.c.res_key)
    terms = [
        ref.c.resource_type == rule.source_type,
        ref.c.param == rule.parameter.code,
        clauses.local(ref, context.fhir_base_url),
        res.c.deleted == false(),
    ]
    if context.compartment is not None:
        terms.append(_visible(context.compartment, context.fhir_base_url))
    rows = []
    for target_type, ids in _ids_by_type(targets, rule).items():
        for chunk in _chunks(ids):
            statement = (
                select(*_columns())
                .select_from(joined)
                .where(*terms, ref.c.target_type == target_type, ref.c.target_id.in_(chunk))
            )
            rows.extend(conn.execute(statement))
    return rows


def _ids_by_type(targets: Sequence[Any], rule: Include) -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    for row in targets:
        if rule.target_type is not None and row.resource_type != rule.target_type:
            continue
        if rule.parameter.targets and row.resource_type not in rule.parameter.targets:
            continue
        by_type.setdefault(row.resource_type, []).append(row.id)
    return by_type


def _visible(patient_id: str, fhir_base_url: str) -> ColumnElement[bool]:
    """In the compartment, or a shared resource a compartment resource refers to."""
    res = schema.resource
    ref = schema.search_reference.alias()
    members = select(schema.compartment.c.res_key).where(
        schema.compartment.c.patient_id == patient_id
    )
    referenced = exists().where(
        ref.c.target_type == res.c.resource_type,
        ref.c.target_id == res.c.id,
        ref.c.res_key.in_(members),
        clauses.local(ref, fhir_base_url),
    )
    shared = and_(res.c.resource_type.in_(sorted(SHARED_TYPES)), referenced)
    return or_(in_compartment(res, patient_id), shared)


def _columns() -> list[Any]:
    return [schema.resource.c[name] for name in RESOURCE_COLUMNS]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
