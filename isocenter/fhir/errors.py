"""Every error a client sees is an OperationOutcome (R4 http.html#errors).

One handler turns ``OperationOutcomeError`` into a response; Starlette's own 404/405
become OperationOutcomes too, and anything unexpected is a 500 OperationOutcome (the
server logs its traceback once, as ServerErrorMiddleware re-raises it to uvicorn).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from isocenter.fhir.negotiation import DEFAULT
from isocenter.fhir.responses import json_response
from isocenter.outcomes import OperationOutcomeError

# Issue codes for statuses Starlette raises itself (valueset-issue-type).
_CODES = {404: "not-found", 405: "not-supported", 400: "invalid", 413: "too-costly"}


def outcome_response(error: OperationOutcomeError) -> Response:
    return json_response(error.outcome(), DEFAULT, error.status, error.headers)


async def operation_outcome_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OperationOutcomeError)
    return outcome_response(exc)


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    diagnostics = exc.detail
    if exc.status_code == 404:
        diagnostics = f"no FHIR interaction at {request.url.path}"
    elif exc.status_code == 405:
        diagnostics = f"{request.method} is not allowed on {request.url.path}"
    code = _CODES.get(exc.status_code, "processing")
    headers = dict(exc.headers or {})
    error = OperationOutcomeError(exc.status_code, code, diagnostics, headers=headers)
    return outcome_response(error)


async def server_error(request: Request, exc: Exception) -> Response:
    error = OperationOutcomeError(
        500, "exception", "internal server error; the server log has the details"
    )
    return outcome_response(error)


EXCEPTION_HANDLERS = {
    OperationOutcomeError: operation_outcome_error,
    HTTPException: http_exception,
    Exception: server_error,
}
