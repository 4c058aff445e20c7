"""Sort order of a search, and the keyset conditions that page through it.

search.html#sort: a parameter with several values sorts by its lowest value ascending and
its highest descending; resources with no value come last either way. Every order ends
with ``res_key`` so that it is total, which keyset paging needs: a page starts strictly
after the last row of the one before, found by its sort values, never by an OFFSET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, false, func, or_, select

from isocenter.search.query import SortKey
from isocenter.store import schema

# The index column a parameter kind sorts by: (ascending, descending).
_SORT_COLUMNS = {
    "string": ("value_normalized", "value_normalized"),
    "date": ("start", "end"),
    "token": ("code", "code"),
    "number": ("value", "value"),
    "quantity": ("value", "value"),
    "reference": ("target_id", "target_id"),
    "uri": ("value", "value"),
}


@dataclass(frozen=True)
class OrderTerm:
    expression: Any
    descending: bool
    nulls_first: bool
    nullable: bool = True

    def reversed(self) -> OrderTerm:
        return OrderTerm(
            self.expression, not self.descending, not self.nulls_first, self.nullable
        )

    def clause(self) -> Any:
        ordered = self.expression.desc() if self.descending else self.expression.asc()
        return ordered.nulls_first() if self.nulls_first else ordered.nulls_last()


def order_terms(res: FromClause, keys: Sequence[SortKey]) -> list[OrderTerm]:
    """The sort keys as expressions, then ``res_key`` (never null) to break ties."""
    terms = [OrderTerm(_expression(res, key), key.descending, False) for key in keys]
    terms.append(OrderTerm(res.c.res_key, False, False, nullable=False))
    return terms


def after(terms: Sequence[OrderTerm], boundary: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``boundary`` (one value per term) in the order of ``terms``."""
    alternatives = []
    equal_so_far: list[ColumnElement[bool]] = []
    for term, value in zip(terms, boundary, strict=True):
        alternatives.append(and_(*equal_so_far, _beyond(term, value)))
        equal_so_far.append(
            term.expression.is_(None) if value is None else term.expression == value
        )
    return or_(*alternatives)


def _beyond(term: OrderTerm, value: Any) -> ColumnElement[bool]:
    expression = term.expression
    if value is None:
        return expression.is_not(None) if term.nulls_first else false()
    beyond = expression < value if term.descending else expression > value
    if term.nulls_first or not term.nullable:
        return beyond
    return or_(beyond, expression.is_(None))


def _expression(res: FromClause, key: SortKey) -> Any:
    parameter = key.parameter
    if parameter.code == "_id":
        return res.c.id
    if parameter.code == "_lastUpdated":
        return res.c.last_updated
    table = schema.INDEX_TABLES[parameter.type].alias()
    ascending_column, descending_column = _SORT_COLUMNS[parameter.type]
    if key.descending:
        aggregate = func.max(table.c[descending_column])
    else:
        aggregate = func.min(table.c[ascending_column])
    return (
        select(aggregate)
        .where(
            table.c.res_key == res.c.res_key,
            table.c.resource_type == parameter.resource_type,
            table.c.param == parameter.code,
        )
        .scalar_subquery()
    )
