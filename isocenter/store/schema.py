"""Every table Isocenter keeps, as SQLAlchemy Core metadata.

Resources live in ``resource`` (the current version of each, deleted ones included)
and ``resource_history`` (every superseded version). Search indexes are one table per
search parameter kind, keyed by the current version's ``res_key``; the
``compartment`` table says which Patient compartments a resource belongs to.

Instants are stored as integer microseconds since the Unix epoch (UTC), so SQLite and
PostgreSQL compare them the same way. Date index rows hold the inclusive range
``[start, end]`` that a FHIR date, dateTime, instant or Period covers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Sentinels for open-ended ranges (a Period without an end, a `lt` prefix, ...).
INSTANT_MIN = -(2**62)
INSTANT_MAX = 2**62

metadata = MetaData()

_Key = BigInteger().with_variant(Integer(), "sqlite")

resource = Table(
    "resource",
    metadata,
    Column("res_key", _Key, primary_key=True, autoincrement=True),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "resource_type", "last_updated"),
    Index("ix_resource_updated", "last_updated"),
)

resource_history = Table(
    "resource_history",
    metadata,
    Column("resource_type", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version_id", Integer, primary_key=True),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=True),
    Index("ix_history_type_updated", "resource_type", "last_updated"),
    Index("ix_history_updated", "last_updated"),
)


def _index_table(name: str, *value_columns: Column, lookup: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        Column("res_key", _Key, nullable=False),
        Column("resource_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *value_columns,
        Index(f"ix_{name}_res_key", "res_key"),
        Index(f"ix_{name}_lookup", "resource_type", "param", *lookup),
    )


search_token = _index_table(
    "search_token",
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("text", Text, nullable=True),
    lookup=("code",),
)
search_string = _index_table(
    "search_string",
    Column("value", Text, nullable=False),
    Column("value_normalized", Text, nullable=False),
    lookup=("value_normalized",),
)
search_date = _index_table(
    "search_date",
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    lookup=("start", "end"),
)
search_reference = _index_table(
    "search_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("url", Text, nullable=True),
    lookup=("target_id",),
)
Index(
    "ix_search_reference_target", search_reference.c.target_type, search_reference.c.target_id
)

search_quantity = _index_table(
    "search_quantity",
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("value", Float, nullable=False),
    lookup=("value",),
)
search_number = _index_table(
    "search_number",
    Column("value", Float, nullable=False),
    lookup=("value",),
)
search_uri = _index_table(
    "search_uri",
    Column("value", Text, nullable=False),
    lookup=("value",),
)

compartment = Table(
    "compartment",
    metadata,
    Column("res_key", _Key, nullable=False),
    Column("patient_id", String(64), nullable=False),
    Index("ix_compartment_patient", "patient_id", "res_key"),
    Index("ix_compartment_res_key", "res_key"),
)

INDEX_TABLES: dict[str, Table] = {
    "token": search_token,
    "string": search_string,
    "date": search_date,
    "reference": search_reference,
    "quantity": search_quantity,
    "number": search_number,
    "uri": search_uri,
}
