"""Access tokens and id tokens: signed JWTs (RFC 7519), checked without a database read.

An access token is an RS256 JWT whose claims carry the grant: ``scope``, the launch
context (``patient``, ``encounter``), the user (``sub``, ``fhirUser``) and the app
(``client_id``). Verification trusts only RS256 signatures by a published server key:
``alg: none``, HMAC algorithms (the RS/HS key-confusion attack) and unknown ``kid`` values
are refused before any claim is looked at. The revocation list is consulted last.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import insert

from isocenter.access import Access
from isocenter.auth.keys import ALGORITHM, SigningKeys
from isocenter.auth.revocation import RevocationList
from isocenter.auth.scopes import ScopeError, permissions
from isocenter.store.schema import access_token

# Seconds of clock difference tolerated on exp/iat between server processes.
LEEWAY_SECONDS = 5


class InvalidToken(Exception):
    """The token is not one this server issued, or no longer holds (RFC 6750 §3.1)."""


def issue_access_token(
    keys: SigningKeys,
    *,
    client_id: str,
    username: str | None,
    scope: str,
    patient: str | None,
    encounter: str | None,
    fhir_user: str | None,
    authorization_id: str | None,
    lifetime_seconds: int | None = None,
) -> tuple[str, str, int]:
    """Sign an access token; returns ``(token, jti, expires_at µs)`` and records its jti.

    ``fhir_user`` ("Patient/123", "Practitioner/9") must be given for every signed-in
    user, whatever the scope: a patient user's access is limited to their own compartment
    by it. ``patient`` is the launch context; patient/ scopes need one.
    """
    if patient is None and any(p.context == "patient" for p in permissions(scope)):
        raise ValueError("patient/ scopes need a patient in the launch context")
    now = int(time.time())
    lifetime = lifetime_seconds or keys.token_lifetime_seconds
    jti = secrets.token_urlsafe(24)
    claims: dict[str, Any] = {
        "iss": keys.issuer,
        "aud": keys.audience,
        "sub": username or client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
        "client_id": client_id,
        "scope": scope,
    }
    extra = {"patient": patient, "encounter": encounter, "fhirUser": _absolute(keys, fhir_user)}
    claims.update({name: value for name, value in extra.items() if value is not None})
    token = _sign(keys, claims)
    expires_at = claims["exp"] * 1_000_000
    with keys.engine.begin() as conn:
        conn.execute(
            insert(access_token).values(
                jti=jti,
                authorization_id=authorization_id,
                client_id=client_id,
                expires_at=expires_at,
            )
        )
    return token, jti, expires_at


def issue_id_token(
    keys: SigningKeys,
    *,
    client_id: str,
    username: str,
    fhir_user: str | None,
    nonce: str | None,
    auth_time: int | None = None,
    lifetime_seconds: int | None = None,
) -> str:
    """An OpenID Connect id_token (OIDC Core §2): ``aud`` is the app, ``fhirUser`` absolute.

    SMART App Launch 2.x: ``fhirUser`` is the absolute URL of the user's FHIR resource.
    ``auth_time`` is seconds since the epoch of the user's sign-in.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": keys.issuer,
        "sub": username,
        "aud": client_id,
        "iat": now,
        "exp": now + (lifetime_seconds or keys.token_lifetime_seconds),
    }
    extra = {"nonce": nonce, "auth_time": auth_time, "fhirUser": _absolute(keys, fhir_user)}
    claims.update({name: value for name, value in extra.items() if value is not None})
    return _sign(keys, claims)


def verify_access_token(keys: SigningKeys, revocations: RevocationList, token: str) -> Access:
    """The ``Access`` a bearer token grants; raises ``InvalidToken`` for any flaw."""
    return _verified(keys, revocations, token)[0]


def _verified(
    keys: SigningKeys, revocations: RevocationList, token: str
) -> tuple[Access, float]:
    claims = decode(keys, token, audience=keys.audience)
    for name in ("jti", "client_id", "scope", "sub"):
        if not isinstance(claims.get(name), str):
            raise InvalidToken(f"claim {name!r} missing")
    if revocations.is_revoked(claims["jti"]):
        raise InvalidToken("token revoked")
    return access_from_claims(keys, claims), float(claims["exp"])


class VerifiedTokens:
    """Bearer tokens already verified, so an app's next request skips the signature check.

    The RSA verification was the largest share of a read's server time. A cached token is
    still refused once it expires or is revoked (the revocation list is asked on every
    request); it is verified afresh after any key rotation in this process and after
    ``recheck_seconds``, so a key withdrawn in another process stops its tokens here
    about as soon as this process rereads its keys.
    Entries are keyed by the token's SHA-256 digest; the oldest go first past
    ``max_entries``.
    """

    def __init__(self, *, max_entries: int = 10_000, recheck_seconds: float = 60.0) -> None:
        self.max_entries = max_entries
        self.recheck_seconds = recheck_seconds
        self._entries: OrderedDict[bytes, tuple[Access, float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, keys: SigningKeys, revocations: RevocationList, token: str) -> Access:
        digest = hashlib.sha256(token.encode()).digest()
        now = time.time()
        with self._lock:
            entry = self._entries.get(digest)
        if entry is not None and now < entry[1] and entry[2] == keys.generation:
            access = entry[0]
            if access.jti is not None and revocations.is_revoked(access.jti):
                raise InvalidToken("token revoked")
            return access
        access, expires_at = _verified(keys, revocations, token)
        with self._lock:
            recheck_at = min(expires_at, now + self.recheck_seconds)
            self._entries[digest] = (access, recheck_at, keys.generation)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return access

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def decode(keys: SigningKeys, token: str, *, audience: str) -> dict[str, Any]:
    """Claims of a token signed by one of our published keys, checked for iss/aud/exp."""
    key = _verification_key(keys, token)
    try:
        decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
        _claims_registry(keys, audience).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise InvalidToken(_reason(exc)) from exc
    return dict(decoded.claims)


def access_from_claims(keys: SigningKeys, claims: dict[str, Any]) -> Access:
    """The ``Access`` behind verified claims; the rules of access.py's module docstring."""
    try:
        granted = permissions(claims["scope"])
    except ScopeError as exc:
        raise InvalidToken("scope malformed") from exc
    fhir_user = _relative(keys, claims.get("fhirUser"))
    patient: str | None = None
    if fhir_user is not None and fhir_user.startswith("Patient/"):
        patient = fhir_user.removeprefix("Patient/")  # a patient user sees only their own
    elif any(p.context == "patient" for p in granted):
        patient = claims.get("patient")
        if not isinstance(patient, str) or not patient:
            raise InvalidToken("patient/ scopes without a patient")
    return Access(
        client_id=claims["client_id"],
        username=claims["sub"] if claims["sub"] != claims["client_id"] else None,
        fhir_user=fhir_user,
        patient=patient,
        permissions=granted,
        scope=claims["scope"],
        jti=claims["jti"],
    )


def _verification_key(keys: SigningKeys, token: str) -> Any:
    try:
        header = jws.extract_compact(token.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidToken("token malformed") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"alg {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    key = keys.public_key(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("signed by an unknown key")
    return key


def _claims_registry(keys: SigningKeys, audience: str) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": keys.issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
    )


def _sign(keys: SigningKeys, claims: dict[str, Any]) -> str:
    current = keys.current()
    header = {"alg": ALGORITHM, "kid": current.kid, "typ": "JWT"}
    return jwt.encode(header, claims, current.key, algorithms=[ALGORITHM])


def _absolute(keys: SigningKeys, reference: str | None) -> str | None:
    return f"{keys.audience}/{reference}" if reference else None


def _relative(keys: SigningKeys, url: object) -> str | None:
    if not isinstance(url, str):
        return None
    return url.removeprefix(keys.audience + "/")


def _reason(exc: Exception) -> str:
    # joserfc's messages name the claim or the check; they carry no token content.
    return getattr(exc, "description", None) or exc.__class__.__name__
