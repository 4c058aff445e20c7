"""Proof Key for Code Exchange, S256 only (RFC 7636).

SMART App Launch 2.x requires PKCE with ``S256`` and forbids ``plain``
(app-launch.html#step-1-register). The authorize endpoint checks the challenge; the token
endpoint checks the verifier against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

METHOD = "S256"

# RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding is always 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


class PkceError(ValueError):
    """A challenge or verifier that breaks RFC 7636; the message says which rule."""


def check_challenge(challenge: str | None, method: str | None) -> str:
    """The challenge of an authorization request, or ``PkceError`` (RFC 7636 §4.3)."""
    if not challenge:
        raise PkceError("code_challenge is required (PKCE, method S256)")
    if method != METHOD:
        # A missing method means "plain" (RFC 7636 §4.3), which SMART forbids.
        raise PkceError("code_challenge_method must be S256")
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise PkceError("code_challenge is not a base64url SHA-256 digest")
    return challenge


def s256(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str | None, challenge: str) -> None:
    """Accept ``verifier`` for ``challenge`` or raise ``PkceError`` (RFC 7636 §4.6)."""
    if not verifier:
        raise PkceError("code_verifier is required")
    if not _VERIFIER.fullmatch(verifier):
        raise PkceError("code_verifier must be 43 to 128 unreserved characters")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise PkceError("code_verifier does not match the code_challenge")
