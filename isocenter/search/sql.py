"""A search plan's criteria as SQL over the resource and index tables.

Each criterion selects rows of its index table by ``param`` and value; a resource meets
it when any of its rows does (so ``ne`` and ``:not`` are read per row and per resource
respectively, as search.html#prefix and #modifiers word them). One key set drives the
query as ``res_key IN (...)`` on the ``(resource_type, param, value)`` index; the other
criteria are ``EXISTS`` / ``NOT EXISTS`` checks on the index's ``res_key``, so the
database intersects the sets without reading whole index ranges twice. Chains and
``_has`` nest the same shape one resource type further (search.html#chaining, #has).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, FromClause, exists, false, or_, select

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
    # Under a compartment, shared resources (SHARED_TYPES) the compartment refers to count
    # as matches too: what a patient-limited access may see (SMART App Launch 2.x).
    shared: bool = False


def resource_filter(
    res: FromClause, resource_type: str, criteria: list[Criterion], context: Context
) -> list[ColumnElement[bool]]:
    """The WHERE terms for current resources of a type that meet every criterion.

    One set of keys drives: a Patient's compartment when the search is restricted to one
    (it is bounded by one record), else the most selective criterion, as
    ``res_key IN (...)``; every other criterion is checked per candidate with ``EXISTS``
    on its index's ``res_key``. SQLite has no statistics to choose with, so the type test
    is kept away from the ``(resource_type, ...)`` index whenever keys drive: index rows
    carry their resource's type, and a compartment candidate's type is compared as an
    expression that no index serves.
    """
    terms = [res.c.deleted == false()]
    if context.compartment is not None and context.shared and resource_type in SHARED_TYPES:
        driver = _driver(criteria)
        terms.append(referenced_from(res, context.compartment, context.fhir_base_url))
        if driver is None:
            terms.append(res.c.resource_type == resource_type)
    elif context.compartment is not None:
        driver = None
        terms.append(in_compartment(res, context.compartment))
        terms.append(_unindexed(res.c.resource_type) == resource_type)
    else:
        driver = _driver(criteria)
        if driver is None:
            terms.append(res.c.resource_type == resource_type)
    for criterion in criteria:
        drive = criterion is driver
        terms.append(condition(res, resource_type, criterion, context, drive=drive))
    return terms


def _unindexed(column: Any) -> Any:
    # `x || ''` is x, but no index on x can serve a comparison with it.
    return column + ""


def in_compartment(res: FromClause, patient_id: str) -> ColumnElement[bool]:
    members = select(schema.compartment.c.res_key).where(
        schema.compartment.c.patient_id == patient_id
    )
    return res.c.res_key.in_(members)


def condition(
    res: FromClause,
    resource_type: str,
    criterion: Criterion,
    context: Context,
    *,
    drive: bool = False,
) -> ColumnElement[bool]:
    if isinstance(criterion, Has):
        return _has(res, resource_type, criterion, context)
    if not isinstance(criterion, Chain) and criterion.parameter.code in _COLUMN_PARAMETERS:
        return _column(res, criterion, context)
    table, of_type, terms = _rows(criterion, resource_type, context)
    if drive:
        return res.c.res_key.in_(select(table.c.res_key).where(of_type, *terms))
    # Checked per candidate on the res_key index. The type is left out: the candidate
    # already has it, and without the leading column SQLite cannot pick the value index
    # instead (without statistics it may, and walk a whole range per candidate).
    found = exists().where(table.c.res_key == res.c.res_key, *terms)
    negated = isinstance(criterion, Missing) and criterion.missing
    negated = negated or (isinstance(criterion, Match) and criterion.modifier == "not")
    return ~found if negated else found


def _rows(
    criterion: Match | Missing | Chain, resource_type: str, context: Context
) -> tuple[Any, ColumnElement[bool], list[ColumnElement[bool]]]:
    """The index table, its type term and the terms that pick the criterion's rows."""
    if isinstance(criterion, Chain):
        return _chain_rows(resource_type, criterion, context)
    table = schema.INDEX_TABLES[criterion.parameter.type].alias()
    terms = [table.c.param == criterion.parameter.code]
    if isinstance(criterion, Match):
        terms.append(or_(*[_value(table, criterion, v, context) for v in criterion.values]))
    return table, table.c.resource_type == resource_type, terms


# Which criterion drives a search, most selective kind first: a reference names one
# target, a token or string value a few, a range many.
_DRIVER_RANK = {"reference": 0, "token": 1, "string": 2, "uri": 2, "quantity": 4, "number": 4}
_COLUMN_PARAMETERS = ("_id", "_lastUpdated")


def _driver(criteria: list[Criterion]) -> Criterion | None:
    ranked = [(rank, n) for n, c in enumerate(criteria) if (rank := _rank(c)) is not None]
    return criteria[min(ranked)[1]] if ranked else None


def _rank(criterion: Criterion) -> int | None:
    """How well the criterion's own index finds its resources; None if it cannot drive."""
    if isinstance(criterion, Chain):
        return 3
    if isinstance(criterion, Has) or criterion.parameter.code in _COLUMN_PARAMETERS:
        return None
    if isinstance(criterion, Missing):
        return None if criterion.missing else 7
    if criterion.modifier in ("not", "contains", "text", "below", "above"):
        return None if criterion.modifier == "not" else 6
    return _DRIVER_RANK.get(criterion.parameter.type, 5)


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


def _chain_rows(
    resource_type: str, chain: Chain, context: Context
) -> tuple[Any, ColumnElement[bool], list[ColumnElement[bool]]]:
    """Reference rows whose target is a current resource of a target type meeting ``inner``."""
    ref = schema.search_reference.alias()
    per_target = []
    for target_type, inner in chain.inner:
        target = schema.resource.alias()
        terms = resource_filter(
            target, target_type, [inner], _chain_context(context, target_type)
        )
        ids = select(target.c.id).where(*terms)
        per_target.append((ref.c.target_type == target_type) & ref.c.target_id.in_(ids))
    terms = [
        ref.c.param == chain.parameter.code,
        clauses.local(ref, context.fhir_base_url),
        or_(*per_target),
    ]
    return ref, ref.c.resource_type == resource_type, terms


def _chain_context(context: Context, target_type: str) -> Context:
    # A compartment's own resources refer to shared ones (a Practitioner, an Organization);
    # chaining through those is allowed, since the match itself stays in the compartment.
    # The compartment is kept, so that a `_has` nested in the chain stays inside it too.
    if target_type in SHARED_TYPES and context.compartment is not None:
        return replace(context, shared=True)
    return context


def referenced_from(
    res: FromClause, patient_id: Any, fhir_base_url: str
) -> ColumnElement[bool]:
    """Some resource of the Patient's compartment refers to this one (a local reference)."""
    ref = schema.search_reference.alias()
    members = schema.compartment.alias()
    return exists().where(
        ref.c.target_type == res.c.resource_type,
        ref.c.target_id == res.c.id,
        clauses.local(ref, fhir_base_url),
        exists().where(members.c.res_key == ref.c.res_key, members.c.patient_id == patient_id),
    )


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
