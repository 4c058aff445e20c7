"""OAuth 2.0 errors, one class per error code, each knowing its status and headers.

Codes from RFC 6749 §5.2 (token endpoint) and §4.1.2.1 (authorization endpoint); the body
is ``{"error", "error_description"}`` and is never cached (RFC 6749 §5.1).

    OAuthError
    ├── InvalidRequest           400 invalid_request
    ├── InvalidClient            401 invalid_client (+ WWW-Authenticate: Basic when used)
    ├── InvalidGrant             400 invalid_grant
    ├── UnauthorizedClient       400 unauthorized_client
    ├── UnsupportedGrantType     400 unsupported_grant_type
    ├── InvalidScope             400 invalid_scope
    ├── AccessDenied             403 access_denied
    ├── UnsupportedResponseType  400 unsupported_response_type
    └── ServerError              500 server_error
"""

from __future__ import annotations

from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    error = "invalid_request"
    status = 400

    def __init__(
        self,
        description: str,
        *,
        error: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        if error is not None:
            self.error = error
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), self.status, headers={**NO_STORE, **self.headers})


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: a client that used HTTP Basic is answered 401 with a challenge."""

    error = "invalid_client"
    status = 401

    def __init__(self, description: str, *, basic: bool = False) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="isocenter"'} if basic else None
        super().__init__(description, headers=headers)


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class ServerError(OAuthError):
    error = "server_error"
    status = 500
