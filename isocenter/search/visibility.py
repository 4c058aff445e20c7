"""What a limited access may see: SQL for compartment visibility and scope query restrictions.

Access control (SMART App Launch 2.x, scopes-and-launch-context.html) limits searches in
three ways, all applied here as SQL so that a restriction can never be skipped by one
route: a patient's compartment plus the shared resources (Practitioner, Organization, ...)
that the compartment refers to; v2 query restrictions such as ``category=laboratory``,
several of which are OR-ed; and chains or ``_has`` into resource types the access may not
search, which are refused (or, in an untyped chain, left out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
    union,
)

from isocenter import outcomes
from isocenter.search import clauses
from isocenter.search.query import Chain, Criterion, Has, QueryParser, Rejected
from isocenter.search.sql import SHARED_TYPES, Context, condition, referenced_from
from isocenter.store import schema

# One v2 query restriction: ((name, value), ...), every pair must hold.
Restriction = Sequence[tuple[str, str]]


def member_of(res: FromClause, patient_id: Any) -> ColumnElement[bool]:
    """The resource is in the Patient's compartment (checked per row, on the res_key index)."""
    members = schema.compartment.alias()
    return exists().where(
        members.c.res_key == res.c.res_key, members.c.patient_id == patient_id
    )


def visible(res: FromClause, patient_id: Any, fhir_base_url: str) -> ColumnElement[bool]:
    """In the compartment, or a shared resource that the compartment refers to."""
    shared = and_(
        res.c.resource_type.in_(sorted(SHARED_TYPES)),
        referenced_from(res, patient_id, fhir_base_url),
    )
    return or_(member_of(res, patient_id), shared)


def parse_restrictions(
    parser: QueryParser, resource_type: str, restrictions: Sequence[Restriction]
) -> list[list[Criterion]]:
    """Each restriction as criteria; one this server cannot run refuses the request.

    A restriction that were dropped would widen the access, so it is an error (403), not
    a parameter to ignore.
    """
    parsed = []
    for restriction in restrictions:
        try:
            parsed.append([parser.criterion(resource_type, n, v) for n, v in restriction])
        except Rejected as rejected:
            text = "&".join(f"{n}={v}" for n, v in restriction)
            raise outcomes.forbidden(
                f"the scope's query restriction {resource_type}?{text} cannot be applied "
                f"({rejected.reason})"
            ) from None
    return parsed


def restricted(
    res: FromClause, resource_type: str, parsed: list[list[Criterion]], context: Context
) -> ColumnElement[bool]:
    """Meets every criterion of at least one restriction (several scopes are OR-ed)."""
    if not parsed:
        return false()
    return or_(
        *[
            and_(*[condition(res, resource_type, c, context) for c in criteria])
            for criteria in parsed
        ]
    )


def visible_ids_statement(
    resource_type: str,
    ids: Sequence[str],
    parsed: list[list[Criterion]] | None,
    context: Context,
) -> Select[Any]:
    """Ids among ``ids`` (deleted or not) that the compartment and restrictions let through."""
    res = schema.resource
    terms = [res.c.resource_type == resource_type, res.c.id.in_(list(ids))]
    if context.compartment is not None:
        terms.append(visible(res, context.compartment, context.fhir_base_url))
    if parsed is not None:
        terms.append(restricted(res, resource_type, parsed, context))
    return select(res.c.id).where(*terms)


def visible_one_statement(fhir_base_url: str) -> Select[Any]:
    """``visible_ids_statement`` for one id and no restriction, with bound parameters
    ``resource_type``, ``id`` and ``patient_id``: built once, so a read by id pays only
    for running it."""
    res = schema.resource
    return select(res.c.id).where(
        res.c.resource_type == bindparam("resource_type"),
        res.c.id == bindparam("id"),
        visible(res, bindparam("patient_id"), fhir_base_url),
    )


def visible_keys_statement(
    types: Mapping[str, list[list[Criterion]] | None] | None, context: Context
) -> Select[Any]:
    """Keys of the resources a history may show: of ``types`` (each with its restrictions,
    ``None`` for none; ``types=None`` for every type), within the compartment if any."""
    res = schema.resource
    terms: list[ColumnElement[bool]] = []
    if context.compartment is not None:
        terms.append(res.c.res_key.in_(_compartment_keys(context.compartment, context)))
    if types is not None:
        free = sorted(t for t, parsed in types.items() if parsed is None)
        per_type: list[ColumnElement[bool]] = [res.c.resource_type.in_(free)] if free else []
        for resource_type, parsed in sorted(types.items()):
            if parsed is not None:
                kept = restricted(res, resource_type, parsed, context)
                per_type.append(and_(res.c.resource_type == resource_type, kept))
        terms.append(or_(*per_type) if per_type else false())
    return select(res.c.res_key).where(*terms)


def permitted(criterion: Criterion, searchable: Callable[[str], bool]) -> Criterion:
    """The criterion with chain targets the access may not search left out; 403 if none
    is left, or if ``_has`` starts from a type the access may not search."""
    if isinstance(criterion, Has):
        if not searchable(criterion.source_type):
            raise outcomes.forbidden(
                f"_has:{criterion.source_type} is outside the granted scopes"
            )
        return Has(
            criterion.source_type, criterion.parameter, permitted(criterion.inner, searchable)
        )
    if isinstance(criterion, Chain):
        inner = tuple(
            (target, permitted(nested, searchable))
            for target, nested in criterion.inner
            if searchable(target)
        )
        if not inner:
            raise outcomes.forbidden(
                f"chaining {criterion.parameter.code} reaches only resource types outside "
                "the granted scopes"
            )
        return Chain(criterion.parameter, inner)
    return criterion


def _compartment_keys(patient_id: str, context: Context) -> Any:
    """Keys of the compartment and of the shared resources it refers to, found from the
    compartment (bounded by one record) rather than by testing every resource."""
    members = schema.compartment.alias()
    ref = schema.search_reference.alias()
    target = schema.resource.alias()
    own = select(members.c.res_key).where(members.c.patient_id == patient_id)
    joined = members.join(ref, ref.c.res_key == members.c.res_key).join(
        target,
        and_(target.c.resource_type == ref.c.target_type, target.c.id == ref.c.target_id),
    )
    shared = (
        select(target.c.res_key)
        .select_from(joined)
        .where(
            members.c.patient_id == patient_id,
            ref.c.target_type.in_(sorted(SHARED_TYPES)),
            clauses.local(ref, context.fhir_base_url),  # type: ignore[arg-type]
        )
    )
    return union(own, shared)
