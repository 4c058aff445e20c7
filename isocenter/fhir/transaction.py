"""Batch and transaction: POST [base] with a Bundle (R4 http.html#transaction).

Processing belongs to ``isocenter.ingest.bundle.process_bundle`` (all or nothing for a
transaction, entry by entry for a batch); this module checks the request and answers
with the transaction-response or batch-response Bundle.
"""

from __future__ import annotations

from starlette.responses import Response

from isocenter.fhir.bodies import parse_resource
from isocenter.fhir.context import Call
from isocenter.fhir.responses import json_response
from isocenter.outcomes import invalid, not_supported


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
    response = context.process_bundle(
        context.store, context.search_engine(), bundle, fhir_base_url=context.fhir_base_url
    )
    return json_response(response, call.fmt)
