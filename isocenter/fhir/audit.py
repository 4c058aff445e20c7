"""Audit events for FHIR interactions: which app, for which user, read or wrote what.

Interactions note what they do (``note``) as soon as the access check has named the
resource type; ``AuditMiddleware`` records the notes after the response has been sent,
with its status, through an injected recorder that must not block (the app passes
``isocenter.auth.audit.AuditTrail.record``, which queues events for a background writer;
fhir does not import auth). Only parameter names are kept, never values (values may
identify people). Requests of an app built without the guard (``FULL_ACCESS``) have no
one to attribute them to and are not recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from isocenter.access import FULL_ACCESS, Access

log = logging.getLogger(__name__)

# record(action=..., outcome=..., client_id=..., username=..., patient_id=...,
#        resource_type=..., resource_id=..., query=[names]) -> None
Recorder = Callable[..., None]

_STATE_KEY = "audit"


@dataclass
class AuditNote:
    """One interaction on one resource type (or, for a Bundle, one entry)."""

    action: str  # read | search | history | create | update | delete
    resource_type: str | None
    resource_id: str | None
    query: tuple[str, ...]
    outcome: int | None = None  # None: the response's status


def note(
    scope_state: Any,
    action: str,
    resource_type: str | None,
    resource_id: str | None = None,
    params: list[tuple[str, str]] | None = None,
) -> AuditNote:
    """Note an interaction on the request; recorded once the response is sent."""
    names = tuple(sorted({name for name, _ in params or []}))
    entry = AuditNote(action, resource_type, resource_id, names)
    notes = getattr(scope_state, _STATE_KEY, None)
    if isinstance(notes, list):
        notes.append(entry)
    return entry


def name_resource(scope_state: Any, resource_id: str) -> None:
    """Name the resource of the latest note, once known (a create assigns the id)."""
    notes = getattr(scope_state, _STATE_KEY, None)
    if isinstance(notes, list) and notes:
        notes[-1].resource_id = resource_id


class AuditMiddleware:
    """Pure ASGI: gives each request a list of notes and records them after the response."""

    def __init__(self, app: ASGIApp, *, record: Recorder) -> None:
        self.app = app
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        notes: list[AuditNote] = []
        state[_STATE_KEY] = notes
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            access = state.get("access")
            if notes and isinstance(access, Access) and access is not FULL_ACCESS:
                self._record(access, notes, status)

    def _record(self, access: Access, notes: list[AuditNote], status: int) -> None:
        try:
            for entry in notes:
                self.record(
                    action=entry.action,
                    outcome=entry.outcome if entry.outcome is not None else status,
                    client_id=access.client_id,
                    username=access.username,
                    patient_id=access.patient,
                    resource_type=entry.resource_type,
                    resource_id=entry.resource_id,
                    query=entry.query,
                )
        except Exception:
            # The response is already sent; the failure is for the operator to see.
            log.exception("could not record %d audit events", len(notes))
