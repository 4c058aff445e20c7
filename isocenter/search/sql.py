"""A search plan's criteria as SQL over the resource and index tables.

Every criterion becomes ``res_key IN (SELECT res_key FROM <index table> WHERE
resource_type = ? AND param = ? AND <value>)`` (or ``NOT IN`` for ``:not`` and
``:missing=true``), so each one is answered from its index table's
``(resource_type, param, value)`` index and the database intersects the key sets.
Chains and ``_has`` nest the same shape one resource type further
(search.html#chaining, search.html#has).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, false, or_, select

from isocenter.search import clauses
from isocenter.search.query import Chain, Criterion, Has, Match, Missing
from isocenter.store import schema

# Shared resources a Patient's compartment refers to without holding them: outside the
# compartment, but visible to it as include and chain targets.
SHARED_TYPES = frozenset(
    {"Practitioner", "PractitionerRole", "Organization", "Location", "Medication"}
)


@dataclass(frozen=True)
class Context:
    fhir_base_url: str
    dialect: str
    # "now" for the `ap` prefix, in microseconds.
    now: int
    # A Patient id: everything is restricted to that Patient's compartment.
    compartment: str | None = None


def resource_filter(
    res: FromClause, resource_type: str, criteria: list[Criterion], context: Context
) -> list[ColumnElement[bool]]:
    """The WHERE terms for current resources of a type that meet every criterion."""
    terms = [res.c.resource_type == resource_type, res.c.deleted == false()]
    terms.extend(condition(res, resource_type, criterion, context) for criterion in criteria)
    if context.compartment is not None:
        terms.append(in_compartment(res, context.compartment))
    return terms


def in_compartment(res: FromClause, patient_id: str) -> ColumnElement[bool]:
    members = select(schema.compartment.c.res_key).where(
        schema.compartment.c.patient_id == patient_id
    )
    return res.c.res_key.in_(members)


def condition(
    res: FromClause, resource_type: str, criterion: Criterion, context: Context
) -> ColumnElement[bool]:
    if isinstance(criterion, Chain):
        return _chain(res, resource_type, criterion, context)
    if isinstance(criterion, Has):
        return _has(res, resource_type, criterion, context)
    if criterion.parameter.code in ("_id", "_lastUpdated"):
        return _column(res, criterion, context)
    if isinstance(criterion, Missing):
        keys = _parameter_rows(criterion, resource_type)[0]
        return res.c.res_key.not_in(keys) if criterion.missing else res.c.res_key.in_(keys)
    keys, table = _parameter_rows(criterion, resource_type)
    keys = keys.where(or_(*[_value(table, criterion, v, context) for v in criterion.values]))
    if criterion.modifier == "not":
        return res.c.res_key.not_in(keys)
    return res.c.res_key.in_(keys)


def _parameter_rows(criterion: Match | Missing, resource_type: str) -> tuple[Select[Any], Any]:
    table = schema.INDEX_TABLES[criterion.parameter.type].alias()
    keys = select(table.c.res_key).where(
        table.c.resource_type == resource_type, table.c.param == criterion.parameter.code
    )
    return keys, table


def _value(table: Any, criterion: Match, value: Any, context: Context) -> ColumnElement[bool]:
    kind = criterion.parameter.type
    if kind == "token" and criterion.modifier == "text":
        return clauses.token_text(table, value)
    if kind == "token":
        return clauses.token(table, value)
    if kind == "string":
        return clauses.string(table, value, criterion.modifier, context.dialect)
    if kind == "date":
        return clauses.date(table.c.start, table.c.end, value, context.now)
    if kind == "number":
        return clauses.number(table.c.value, value)
    if kind == "quantity":
        return clauses.quantity(table, value)
    if kind == "reference":
        return clauses.reference(table, value, context.fhir_base_url)
    return clauses.uri(table, value, criterion.modifier)


def _column(
    res: FromClause, criterion: Match | Missing, context: Context
) -> ColumnElement[bool]:
    """``_id`` and ``_lastUpdated`` read the resource table's own columns."""
    if isinstance(criterion, Missing):
        return clauses.missing_on_column(criterion.missing)
    if criterion.parameter.code == "_id":
        matched = res.c.id.in_(list(criterion.values))
    else:
        updated = res.c.last_updated
        matched = or_(
            *[clauses.date(updated, updated, v, context.now) for v in criterion.values]
        )
    return ~matched if criterion.modifier == "not" else matched


def _chain(
    res: FromClause, resource_type: str, chain: Chain, context: Context
) -> ColumnElement[bool]:
    """The reference row's target is a current resource of a target type meeting ``inner``."""
    ref = schema.search_reference.alias()
    per_target = []
    for target_type, inner in chain.inner:
        target = schema.resource.alias()
        terms = resource_filter(
            target, target_type, [inner], _chain_context(context, target_type)
        )
        ids = select(target.c.id).where(*terms)
        per_target.append((ref.c.target_type == target_type) & ref.c.target_id.in_(ids))
    keys = select(ref.c.res_key).where(
        ref.c.resource_type == resource_type,
        ref.c.param == chain.parameter.code,
        clauses.local(ref, context.fhir_base_url),
        or_(*per_target),
    )
    return res.c.res_key.in_(keys)


def _chain_context(context: Context, target_type: str) -> Context:
    # A compartment's own resources refer to shared ones (a Practitioner, an Organization);
    # chaining through those is allowed, since the match itself stays in the compartment.
    if target_type in SHARED_TYPES:
        return Context(context.fhir_base_url, context.dialect, context.now)
    return context


def _has(
    res: FromClause, resource_type: str, has: Has, context: Context
) -> ColumnElement[bool]:
    """Some current ``source_type`` resource meeting ``inner`` refers here by the param."""
    source = schema.resource.alias()
    ref = schema.search_reference.alias()
    sources = select(source.c.res_key).where(
        *resource_filter(source, has.source_type, [has.inner], context)
    )
    ids = select(ref.c.target_id).where(
        ref.c.resource_type == has.source_type,
        ref.c.param == has.parameter.code,
        ref.c.target_type == resource_type,
        clauses.local(ref, context.fhir_base_url),
        ref.c.res_key.in_(sources),
    )
    return res.c.id.in_(ids)
