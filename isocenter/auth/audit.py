"""Audit events: which app, for which user, did what to which patient's data.

Audit records are data of their own, not log lines: a site admin reads them on the admin
pages. Query parameter names are kept, never their values (values may identify people).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select

from isocenter.auth.database import reading
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import audit_event

ACTIONS = frozenset(
    {
        "read",
        "search",
        "history",
        "create",
        "update",
        "delete",
        "export",
        "login",
        "token",
        "revoke",
    }
)


@dataclass(frozen=True)
class AuditEvent:
    id: int
    recorded_at: int
    client_id: str | None
    username: str | None
    patient_id: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    query: str | None
    outcome: int


def record(
    engine: Engine,
    *,
    action: str,
    outcome: int,
    client_id: str | None = None,
    username: str | None = None,
    patient_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    query: Iterable[str] = (),
) -> None:
    """Store one audit event; ``query`` is the request's parameter names."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    names = ",".join(sorted(set(query)))
    with engine.begin() as conn:
        conn.execute(
            insert(audit_event).values(
                recorded_at=now_microseconds(),
                client_id=client_id,
                username=username,
                patient_id=patient_id,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                query=names or None,
                outcome=outcome,
            )
        )


def recent(
    engine: Engine,
    *,
    limit: int = 100,
    actions: Iterable[str] | None = None,
    client_id: str | None = None,
    username: str | None = None,
    patient_id: str | None = None,
) -> list[AuditEvent]:
    """The newest events first, optionally only some actions, one app, user or patient."""
    query = select(audit_event).order_by(audit_event.c.id.desc()).limit(limit)
    if actions is not None:
        query = query.where(audit_event.c.action.in_(list(actions)))
    filters: dict[str, Any] = {
        "client_id": client_id,
        "username": username,
        "patient_id": patient_id,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(audit_event.c[column] == value)
    with reading(engine) as conn:
        return [AuditEvent(**row._mapping) for row in conn.execute(query)]
