"""The guard in front of the FHIR routes: no valid bearer token, no FHIR data.

RFC 6750 §3: a request without a token is answered 401 with ``WWW-Authenticate: Bearer
realm=...``; an expired, revoked, tampered or unsigned token 401 with
``error="invalid_token"``. The body is an OperationOutcome (issue type ``login``), as every
FHIR error is. A valid token becomes an ``Access`` on ``request.state.access``; what it may
see is decided by the FHIR layer. The CapabilityStatement and the SMART discovery document
stay public (SMART App Launch 2.x, conformance: apps read them before they have a token).
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from isocenter.access import FULL_ACCESS
from isocenter.auth.keys import SigningKeys
from isocenter.auth.revocation import RevocationList
from isocenter.auth.tokens import InvalidToken, VerifiedTokens
from isocenter.outcomes import OperationOutcomeError

log = logging.getLogger(__name__)

FHIR_PREFIX = "/fhir"
PUBLIC_PATHS = frozenset({"/fhir/metadata", "/fhir/.well-known/smart-configuration"})
PUBLIC_PREFIXES = ("/fhir/.well-known/",)


class GuardMiddleware:
    """Pure ASGI middleware; sets ``scope["state"]["access"]`` for guarded requests."""

    def __init__(
        self, app: ASGIApp, *, keys: SigningKeys, revocations: RevocationList, realm: str
    ) -> None:
        self.app = app
        self.keys = keys
        self.revocations = revocations
        self.realm = realm
        self.verified = VerifiedTokens()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None:
            await self._refuse(send, "a bearer access token is required", None)
            return
        try:
            # Signature and claims are checked in memory against cached keys (and once
            # per token a minute); the revocation list is a set reread at most once a
            # second, not per request.
            access = self.verified.verify(self.keys, self.revocations, token)
        except InvalidToken as exc:
            log.debug("refused a bearer token: %s", exc)
            await self._refuse(send, "the access token is not valid", "invalid_token")
            return
        scope.setdefault("state", {})["access"] = access
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, diagnostics: str, error: str | None) -> None:
        challenge = f'Bearer realm="{self.realm}"'
        if error is not None:
            challenge += f', error="{error}", error_description="{diagnostics}"'
        body = json.dumps(OperationOutcomeError(401, "login", diagnostics).outcome()).encode()
        headers = [
            (b"content-type", b"application/fhir+json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", challenge.encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _guarded(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if path != FHIR_PREFIX and not path.startswith(FHIR_PREFIX + "/"):
        return False
    if scope.get("method") == "OPTIONS":
        return False  # CORS preflight carries no credentials (Fetch standard)
    return path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES)


class UnguardedMiddleware:
    """For an app built without the guard (tests of the FHIR layer): full access, said so.

    The FHIR layer finds an explicit ``FULL_ACCESS`` rather than guessing from a missing
    ``access``, so a route that escaped the guard can never read as unlimited.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["access"] = FULL_ACCESS
        await self.app(scope, receive, send)
