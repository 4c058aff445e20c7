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

# --- Authorization (issue 3): apps, users, keys, grants and tokens --------------------
# Secrets, codes, handles and tokens are kept only as SHA-256 hex digests (passwords and
# client secrets as argon2 hashes), so a copy of the database grants nothing.

_Hash = String(64)

app = Table(
    "app",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("logo_url", Text, nullable=True),
    Column("launch_url", Text, nullable=True),
    Column("redirect_uris", Text, nullable=False),
    Column("logout_url", Text, nullable=True),
    Column("scopes", Text, nullable=False),
    Column("client_type", String(32), nullable=False),
    Column("secret_hash", Text, nullable=True),
    Column("jwks_url", Text, nullable=True),
    Column("jwks", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

user_account = Table(
    "user_account",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("practitioner_id", String(64), nullable=True),
    Column("display_name", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

signing_key = Table(
    "signing_key",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("private_pem", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("retired_at", BigInteger, nullable=True),
    Column("publish_until", BigInteger, nullable=True),
)

browser_session = Table(
    "browser_session",
    metadata,
    Column("session_hash", _Hash, primary_key=True),
    Column("username", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
)

launch_context = Table(
    "launch_context",
    metadata,
    Column("handle_hash", _Hash, primary_key=True),
    Column("username", String(128), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("encounter_id", String(64), nullable=True),
    Column("client_id", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

authorization = Table(
    "authorization",
    metadata,
    Column("authorization_id", String(64), primary_key=True),
    Column("username", String(128), nullable=True),
    Column("client_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("encounter_id", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_authorization_username", "username"),
    Index("ix_authorization_client", "client_id"),
)

authorization_code = Table(
    "authorization_code",
    metadata,
    Column("code_hash", _Hash, primary_key=True),
    Column("authorization_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", Text, nullable=True),
    Column("nonce", Text, nullable=True),
    Column("context", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

refresh_token = Table(
    "refresh_token",
    metadata,
    Column("token_hash", _Hash, primary_key=True),
    Column("authorization_id", String(64), nullable=False),
    Column("family_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_refresh_token_authorization", "authorization_id"),
    Index("ix_refresh_token_family", "family_id"),
)

access_token = Table(
    "access_token",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("authorization_id", String(64), nullable=True),
    Column("client_id", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_access_token_authorization", "authorization_id"),
)

revoked_token = Table(
    "revoked_token",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
)

client_assertion_jti = Table(
    "client_assertion_jti",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", _Key, primary_key=True, autoincrement=True),
    Column("recorded_at", BigInteger, nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("username", String(128), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("action", String(16), nullable=False),
    Column("resource_type", String(64), nullable=True),
    Column("resource_id", String(64), nullable=True),
    Column("query", Text, nullable=True),
    Column("outcome", Integer, nullable=False),
    Index("ix_audit_event_recorded", "recorded_at"),
    Index("ix_audit_event_patient", "patient_id", "recorded_at"),
)

# --- Bulk Data export (issue 4): jobs and the files they wrote ------------------------
# A job's parameters are resolved at kick-off (types, filters, patients) and kept as JSON,
# so that any worker, in this process or another, runs it the same way. A worker holds a
# job by a lease it renews; a job whose lease ran out is taken up again by the next one.

export_job = Table(
    "export_job",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("request_url", Text, nullable=False),
    Column("plan", Text, nullable=False),
    Column("transaction_time", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("progress", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("last_polled_at", BigInteger, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Index("ix_export_job_status", "status", "lease_until"),
    Index("ix_export_job_client", "client_id", "status"),
)

export_file = Table(
    "export_file",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Column("last_res_key", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
)
