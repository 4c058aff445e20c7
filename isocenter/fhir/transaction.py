"""Batch and transaction: POST [base] with a Bundle (R4 http.html#transaction).

Processing belongs to ``isocenter.ingest.bundle.process_bundle`` (all or nothing for a
transaction, entry by entry for a batch); this module checks the request and answers
with the transaction-response or batch-response Bundle. Each entry is first checked
against the request's access as its own interaction (``entry_access``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from isocenter.fhir.access_control import access_of
from isocenter.fhir.audit import AuditNote
from isocenter.fhir.bodies import parse_resource
from isocenter.fhir.context import Call
from isocenter.fhir.entry_access import (
    entry_requests,
    hide_unreadable,
    labelled,
    note_entries,
    refusal,
    refused_entry,
)
from isocenter.fhir.responses import json_response
from isocenter.outcomes import OperationOutcomeError, invalid, not_supported


def transaction(call: Call) -> Response:
    """POST [base]: a Bundle of type transaction or batch."""
    bundle = parse_resource(call.header("content-type"), call.body, "Bundle")
    if bundle.get("type") not in ("transaction", "batch"):
        raise invalid(
            f"POST to the base takes a transaction or batch Bundle, not {bundle.get('type')!r}",
            expression=["Bundle.type"],
        )
    context = call.context
    if context.process_bundle is None:
        raise not_supported("transaction and batch are not available on this server", 501)
    access = access_of(call)
    raw_entries = bundle.get("entry")
    entries = raw_entries if isinstance(raw_entries, list) else []
    requests = entry_requests(call, entries)
    notes = note_entries(call, requests)
    refused = {r.index: error for r in requests if (error := refusal(call, access, r))}
    if refused and bundle["type"] == "transaction":
        index = min(refused)
        raise labelled(index, refused[index])
    if refused:
        bundle["entry"] = [raw for index, raw in enumerate(entries) if index not in refused]
    response = context.process_bundle(
        context.store, context.search_engine(), bundle, fhir_base_url=context.fhir_base_url
    )
    response["entry"] = _in_bundle_order(entries, refused, response.get("entry", []))
    hide_unreadable(call, access, response["entry"])
    _note_outcomes(entries, notes, response["entry"])
    return json_response(response, call.fmt)


def _in_bundle_order(
    entries: list[Any], refused: dict[int, OperationOutcomeError], answered: list[Any]
) -> list[dict[str, Any]]:
    """Response entries in request order: the processor's, with the refused put back."""
    answers = iter(answered)
    ordered = []
    for index, raw in enumerate(entries):
        if index in refused:
            ordered.append(refused_entry(refused[index]))
        elif raw is not None:
            ordered.append(next(answers))
    return ordered


def _note_outcomes(
    entries: list[Any], notes: dict[int, AuditNote], answered: list[dict[str, Any]]
) -> None:
    """Each entry's audit note gets the status its response entry carries."""
    positions = [index for index, raw in enumerate(entries) if raw is not None]
    for index, answer in zip(positions, answered, strict=False):
        status = str(answer.get("response", {}).get("status", "")).split(" ", 1)[0]
        if index in notes and status.isdigit():
            notes[index].outcome = int(status)
