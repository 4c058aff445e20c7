"""Access control for the entries of a transaction or batch Bundle (R4 http.html#transaction).

Each entry is checked as the interaction it stands for: GET ``Type/id`` as a read (403
outside the scopes, 404 when the resource may not be seen), GET ``Type?query`` as a
search, POST as create, PUT as update, DELETE as delete. A transaction is all or nothing,
so one refused entry refuses the whole Bundle and names the entry; in a batch each refused
entry answers on its own and the others run. Entries too malformed to name a type are left
to the Bundle processor, which refuses them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isocenter.access import Access
from isocenter.fhir.access_control import check_allowed, readable
from isocenter.fhir.audit import AuditNote, note
from isocenter.fhir.context import Call
from isocenter.outcomes import OperationOutcomeError, not_found
from isocenter.store.repository import StoredResource

# The SMART v2 interaction and the audit action of each entry method.
_INTERACTIONS = {"GET": "r", "HEAD": "r", "POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}
_ACTIONS = {"r": "read", "s": "search", "c": "create", "u": "update", "d": "delete"}
_REASONS = {403: "Forbidden", 404: "Not Found"}


@dataclass
class EntryRequest:
    """What one entry asks for, as far as access control needs to know."""

    index: int  # position in Bundle.entry
    method: str
    resource_type: str
    id: str | None
    query: str | None

    @property
    def interaction(self) -> str:
        if self.method == "GET" and self.id is None:
            return "s"
        return _INTERACTIONS[self.method]


def entry_requests(call: Call, entries: list[Any]) -> list[EntryRequest]:
    """The entries that name a method and a known resource type, in Bundle order."""
    base = call.context.fhir_base_url.rstrip("/") + "/"
    found = []
    for index, raw in enumerate(entries):
        request = raw.get("request") if isinstance(raw, dict) else None
        if not isinstance(request, dict) or request.get("method") not in _INTERACTIONS:
            continue
        url = request.get("url")
        if not isinstance(url, str):
            continue
        path, _, query = url.removeprefix(base).lstrip("/").partition("?")
        parts = path.split("/")
        if parts[0] not in call.context.resource_types:
            continue
        id = parts[1] if len(parts) > 1 and parts[1] else None
        found.append(EntryRequest(index, request["method"], parts[0], id, query or None))
    return found


def note_entries(call: Call, requests: list[EntryRequest]) -> dict[int, AuditNote]:
    """One audit note per entry, by entry index; outcomes are filled in later."""
    state = call.request.state
    return {
        r.index: note(state, _ACTIONS[r.interaction], r.resource_type, r.id, _pairs(r.query))
        for r in requests
    }


def refusal(call: Call, access: Access, request: EntryRequest) -> OperationOutcomeError | None:
    """Why this entry may not run (403 or 404), or None."""
    try:
        check_allowed(access, request.resource_type, request.interaction)
    except OperationOutcomeError as error:
        return error
    if request.interaction != "r" or request.id is None:
        return None
    # A resource that does not exist is not visible either: 404 both ways.
    stored = StoredResource(request.resource_type, request.id, 0, 0, False, None)
    if not readable(access, stored, call.context.search_engine()):
        return not_found(request.resource_type, request.id)
    return None


def labelled(index: int, error: OperationOutcomeError) -> OperationOutcomeError:
    """The error as the Bundle processor words its own: naming ``Bundle.entry[i]``."""
    label = f"Bundle.entry[{index}]"
    return OperationOutcomeError(
        error.status, error.code, f"{label}: {error.diagnostics}", expression=[label]
    )


def refused_entry(error: OperationOutcomeError) -> dict[str, Any]:
    """A batch-response entry for an entry that was not run."""
    status = f"{error.status} {_REASONS.get(error.status, 'Error')}"
    return {"response": {"status": status, "outcome": error.outcome()}}


def hide_unreadable(call: Call, access: Access, entries: list[dict[str, Any]]) -> None:
    """Replace any response entry whose resource the access may not read by a 404.

    The entries were checked before the Bundle ran; this keeps a resource that changed
    compartment in between from being shown.
    """
    engine = call.context.search_engine()
    for position, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        stored = StoredResource(resource["resourceType"], resource["id"], 0, 0, False, None)
        if not readable(access, stored, engine):
            error = not_found(stored.resource_type, stored.id)
            entries[position] = refused_entry(error)


def _pairs(query: str | None) -> list[tuple[str, str]]:
    if not query:
        return []
    return [(part.partition("=")[0], "") for part in query.split("&") if part]
