"""SQL conditions for one search value of each parameter kind (R4 search 3.1.1.4).

Each function compares one parsed value with the row of an index table (or with the
resource table's own columns, for ``_id`` and ``_lastUpdated``). ``sql.py`` ORs the values
of a parameter together and turns the matching rows into a set of resource keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, literal, not_, or_, true

from isocenter.search.values import (
    DateValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
)

# Above every character of a normalized string: the upper bound of a prefix range.
_TOP = "\U0010ffff"


def token(table: Table, value: TokenValue) -> ColumnElement[bool]:
    """search.html#token: ``code``, ``system|code``, ``|code`` and ``system|``."""
    conditions = []
    if value.code is not None:
        conditions.append(table.c.code == value.code)
    if value.no_system:
        conditions.append(table.c.system.is_(None))
    elif value.system is not None:
        conditions.append(table.c.system == value.system)
    return and_(*conditions)


def token_text(table: Table, value: StringValue) -> ColumnElement[bool]:
    """``:text``: the display or text starts with the value, or has a word that does."""
    return or_(
        table.c.text.startswith(value.normalized, autoescape=True),
        table.c.text.contains(" " + value.normalized, autoescape=True),
    )


def string(
    table: Table, value: StringValue, modifier: str | None, dialect: str
) -> ColumnElement[bool]:
    """search.html#string: starts-with by default, ``:exact`` and ``:contains``."""
    column = table.c.value_normalized
    if modifier == "exact":
        return table.c.value == value.raw
    if modifier == "contains":
        return column.contains(value.normalized, autoescape=True)
    prefix = column.startswith(value.normalized, autoescape=True)
    if dialect != "sqlite":
        return prefix
    # SQLite cannot use an index for LIKE; a binary-collation range lets it.
    return and_(column >= value.normalized, column < value.normalized + _TOP, prefix)


def date(start: Any, end: Any, value: DateValue, now: int) -> ColumnElement[bool]:
    """search.html#prefix on ranges: the target range [start, end] against the value's."""
    low, high = value.start, value.end
    contained = and_(start >= low, end <= high)
    prefix = value.prefix
    if prefix == "eq":
        return contained
    if prefix == "ne":
        return not_(contained)
    if prefix == "gt":
        return end > high
    if prefix == "lt":
        return start < low
    if prefix == "ge":
        return or_(end > high, contained)
    if prefix == "le":
        return or_(start < low, contained)
    if prefix == "sa":
        return start > high
    if prefix == "eb":
        return end < low
    # ap: the value's range widened by a tenth of its distance from now, then overlapping.
    wide_low = low - abs(now - low) // 10
    wide_high = high + abs(now - high) // 10
    return and_(start <= wide_high, end >= wide_low)


def number(column: Any, value: NumberValue) -> ColumnElement[bool]:
    """search.html#number: ``eq``/``ne`` use the precision range, the others the value."""
    in_range = and_(column >= value.low, column < value.high)
    prefix = value.prefix
    if prefix == "eq":
        return in_range
    if prefix == "ne":
        return not_(in_range)
    if prefix in ("gt", "sa"):
        return column > value.value
    if prefix in ("lt", "eb"):
        return column < value.value
    if prefix == "ge":
        return column >= value.value
    if prefix == "le":
        return column <= value.value
    # ap: within 10% of the value (search.html#prefix), and never narrower than eq.
    margin = abs(value.value) / 10
    return and_(
        column >= min(value.low, value.value - margin),
        column <= max(value.high, value.value + margin),
    )


def quantity(table: Table, value: QuantityValue) -> ColumnElement[bool]:
    """search.html#quantity: the number, and the system and code when given."""
    conditions = [number(table.c.value, value.number)]
    if value.system is not None:
        conditions.append(table.c.system == value.system)
    if value.code is not None:
        conditions.append(table.c.code == value.code)
    return and_(*conditions)


def reference(table: Table, value: ReferenceValue, fhir_base_url: str) -> ColumnElement[bool]:
    """search.html#reference: a local target by type and id, or any other URL as given."""
    if value.url is not None:
        return table.c.url == value.url
    conditions = [table.c.target_id == value.target_id, local(table, fhir_base_url)]
    if value.target_type is not None:
        conditions.append(table.c.target_type == value.target_type)
    return and_(*conditions)


def local(table: Table, fhir_base_url: str) -> ColumnElement[bool]:
    """A reference row that points at this server: relative, or absolute under its base."""
    return or_(
        table.c.url.is_(None), table.c.url.startswith(fhir_base_url + "/", autoescape=True)
    )


def uri(table: Table, value: str, modifier: str | None) -> ColumnElement[bool]:
    """search.html#uri: equal, or ``:below`` / ``:above`` as a path prefix either way."""
    if modifier == "below":
        return table.c.value.startswith(value, autoescape=True)
    if modifier == "above":
        return func.substr(literal(value), 1, func.length(table.c.value)) == table.c.value
    return table.c.value == value


def missing_on_column(missing: bool) -> ColumnElement[bool]:
    """``_id`` and ``_lastUpdated`` are never missing."""
    return false() if missing else true()
