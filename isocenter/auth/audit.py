"""Audit events: which app, for which user, did what to which patient's data.

Audit records are data of their own, not log lines: a site admin reads them on the admin
pages. Query parameter names are kept, never their values (values may identify people).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select

from isocenter.auth.database import reading
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import audit_event

log = logging.getLogger(__name__)

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


def record(engine: Engine, **event: Any) -> None:
    """Store one audit event now; see ``event_row`` for its fields."""
    with engine.begin() as conn:
        conn.execute(insert(audit_event), [event_row(**event)])


def event_row(
    *,
    action: str,
    outcome: int,
    client_id: str | None = None,
    username: str | None = None,
    patient_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    query: Iterable[str] = (),
) -> dict[str, Any]:
    """One audit_event row; ``query`` is the request's parameter names, never values."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    names = ",".join(sorted(set(query)))
    return {
        "recorded_at": now_microseconds(),
        "client_id": client_id,
        "username": username,
        "patient_id": patient_id,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "query": names or None,
        "outcome": outcome,
    }


class AuditTrail:
    """Audit events of FHIR requests, written in batches by a background thread.

    A write transaction per request cost more than the read it audited (on SQLite every
    reader queued for the write lock), so events are kept in memory for at most
    ``flush_interval_seconds`` and written together. Reading events (``recent``) flushes
    first, so this process always reads its own events; a crash loses at most the last
    interval's events.
    """

    def __init__(self, engine: Engine, *, flush_interval_seconds: float = 1.0) -> None:
        self.engine = engine
        self.interval = flush_interval_seconds
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        _TRAILS.setdefault(engine, weakref.WeakSet()).add(self)

    def record(self, **event: Any) -> None:
        row = event_row(**event)
        with self._lock:
            self._pending.append(row)
        self._start()

    def flush(self) -> None:
        with self._flushing:
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(audit_event), rows)
            except Exception:
                log.exception("could not record %d audit events", len(rows))

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="isocenter-audit", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval)
            self.flush()


_TRAILS: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[AuditTrail]] = (
    weakref.WeakKeyDictionary()
)


def flush_pending(engine: Engine) -> None:
    """Write every buffered event of this process for ``engine``."""
    for trail in list(_TRAILS.get(engine, ())):
        trail.flush()


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
    flush_pending(engine)
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
