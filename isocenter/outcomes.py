"""The one error type: an OperationOutcome with the HTTP status that goes with it.

Raised anywhere below the HTTP layer and turned into a response in one place
(``isocenter.fhir.errors``). Named constructors make raise sites read as sentences:
``raise not_found("Patient", "123")``. Issue type codes are from
http://hl7.org/fhir/R4/valueset-issue-type.html.
"""

from __future__ import annotations

from typing import Any


class OperationOutcomeError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        severity: str = "error",
        expression: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.severity = severity
        self.expression = expression
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = self.expression
        return {"resourceType": "OperationOutcome", "issue": [issue]}


def not_found(resource_type: str, id: str | None = None) -> OperationOutcomeError:
    what = f"{resource_type}/{id}" if id else resource_type
    return OperationOutcomeError(404, "not-found", f"{what} is not known")


def unknown_type(resource_type: str) -> OperationOutcomeError:
    return OperationOutcomeError(
        404, "not-supported", f"unknown resource type {resource_type!r}"
    )


def gone(resource_type: str, id: str) -> OperationOutcomeError:
    return OperationOutcomeError(410, "deleted", f"{resource_type}/{id} has been deleted")


def invalid(diagnostics: str, *, expression: list[str] | None = None) -> OperationOutcomeError:
    return OperationOutcomeError(400, "invalid", diagnostics, expression=expression)


def invalid_parameter(name: str, reason: str) -> OperationOutcomeError:
    """A search or operation parameter that is unknown, malformed or unsupported (400)."""
    return OperationOutcomeError(
        400, "invalid", f"parameter {name!r}: {reason}", expression=[name]
    )


def unsupported_parameter(name: str, reason: str) -> OperationOutcomeError:
    """A search parameter the spec defines but this server does not offer (400)."""
    return OperationOutcomeError(
        400, "not-supported", f"parameter {name!r}: {reason}", expression=[name]
    )


def not_supported(diagnostics: str, status: int = 400) -> OperationOutcomeError:
    return OperationOutcomeError(status, "not-supported", diagnostics)


def unprocessable(
    diagnostics: str, *, expression: list[str] | None = None
) -> OperationOutcomeError:
    return OperationOutcomeError(422, "processing", diagnostics, expression=expression)


def conflict(diagnostics: str, status: int = 409) -> OperationOutcomeError:
    return OperationOutcomeError(status, "conflict", diagnostics)


def forbidden(diagnostics: str) -> OperationOutcomeError:
    """Authenticated, but the granted scopes do not cover the request (RFC 6750 §3.1)."""
    return OperationOutcomeError(403, "forbidden", diagnostics)
