"""Client assertions: ``private_key_jwt`` client authentication (RFC 7523 §2.2, §3).

SMART Backend Services, "Authenticating"
(https://hl7.org/fhir/smart-app-launch/backend-services.html#authenticating-with-the-token-endpoint):
the app signs a short-lived JWT with a key of its registered JWK Set. Checked here, in the
order below, each failure an ``invalid_client`` (RFC 7523 §3.2 client authentication):
header ``alg`` RS384 or ES384, ``kid`` in the app's set, ``typ`` JWT; the signature;
``iss`` = ``sub`` = client id; ``aud`` = the token URL; ``exp`` not past and at most five
minutes ahead; ``jti`` never seen before within the assertion's lifetime. The jti is
recorded only after the signature holds, so nobody can spend another app's jtis.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from isocenter.auth.clients import App
from isocenter.auth.errors import InvalidClient
from isocenter.auth.jwks_fetch import JwksFetcher, JwksUnavailable
from isocenter.store.schema import client_assertion_jti

ALGORITHMS = ("RS384", "ES384")  # SMART Backend Services: servers SHALL support both
# Clock difference tolerated between the app and us, on exp and nbf.
SKEW_SECONDS = 60
# SMART Backend Services: exp "no more than five minutes in the future".
MAX_LIFETIME_SECONDS = 300
MAX_JTI_LENGTH = 255
PURGE_SECONDS = 60

log = logging.getLogger(__name__)

VerificationKey = RSAKey | ECKey


class ClientAssertions:
    """The assertion verifier ``Apps`` plugs in (``Apps(engine, assertion_verifier=...)``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        token_url: str,
        fetcher: JwksFetcher,
        clock: Any = time.time,
    ) -> None:
        self.engine = engine
        self.token_url = token_url
        self.fetcher = fetcher
        self._clock = clock
        self._purged_at = float("-inf")

    def verify(self, app: App, assertion: str) -> None:
        """Raises ``InvalidClient`` unless ``assertion`` authenticates ``app``."""
        header = _header(assertion)
        algorithm = _algorithm(header)
        kid = _kid(header)
        _check_type(header)
        _check_key_set_url(header, app)
        key = self._key(app, kid, algorithm)
        claims = _signed_claims(assertion, key, algorithm)
        now = self._clock()
        _check_subject(claims, app.client_id)
        _check_audience(claims, self.token_url)
        expires = _check_expiry(claims, now)
        self._spend(app.client_id, _jti(claims), expires, now)

    def _purge(self, now: float) -> None:
        """Forget expired jtis, at most once a minute per process; never fails a request."""
        if now - self._purged_at < PURGE_SECONDS:
            return
        self._purged_at = now
        try:
            with self.engine.begin() as conn:
                expired = client_assertion_jti.c.expires_at < int(now * 1_000_000)
                conn.execute(delete(client_assertion_jti).where(expired))
        except DBAPIError:
            log.debug("purging expired client assertion jtis failed; next time", exc_info=True)

    def _key(self, app: App, kid: str, algorithm: str) -> VerificationKey:
        if app.jwks is not None:
            return _find_key(app.jwks, kid, algorithm)
        if app.jwks_url is None:
            raise InvalidClient("the app has no registered JWK Set")
        jwks, fresh = self._fetch(app.jwks_url, refetch=False)
        if fresh or _has_kid(jwks, kid):
            return _find_key(jwks, kid, algorithm)
        # A kid we have not seen: the app may have rotated keys since we cached its set.
        jwks, _ = self._fetch(app.jwks_url, refetch=True)
        return _find_key(jwks, kid, algorithm)

    def _fetch(self, url: str, *, refetch: bool) -> tuple[dict[str, Any], bool]:
        try:
            return self.fetcher.get(url, refetch=refetch)
        except JwksUnavailable as exc:
            raise InvalidClient(f"the app's JWK Set is unavailable: {exc}") from exc

    def _spend(self, client_id: str, jti: str, expires: float, now: float) -> None:
        """Record the jti until the assertion could no longer be accepted; a replay fails.

        The primary key (client_id, jti) makes a concurrent replay fail on insert too. Only
        this jti's own expired row is deleted in that transaction: it waits on no other row.
        """
        self._purge(now)
        keep_until = int((expires + SKEW_SECONDS) * 1_000_000)
        row = client_assertion_jti.c
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(client_assertion_jti).where(
                        row.client_id == client_id,
                        row.jti == jti,
                        row.expires_at < int(now * 1_000_000),
                    )
                )
                conn.execute(
                    insert(client_assertion_jti).values(
                        client_id=client_id, jti=jti, expires_at=keep_until
                    )
                )
        except IntegrityError:
            raise InvalidClient("client assertion jti was already used") from None


def _header(assertion: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(assertion.encode("ascii")).protected)
    except (JoseError, ValueError, UnicodeError):
        raise InvalidClient("client assertion is not a signed JWT") from None


def _algorithm(header: dict[str, Any]) -> str:
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidClient(f"client assertion alg must be one of {', '.join(ALGORITHMS)}")
    return str(algorithm)


def _kid(header: dict[str, Any]) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidClient("client assertion header has no kid")
    return kid


def _check_type(header: dict[str, Any]) -> None:
    # RFC 7515 §4.1.9: typ values compare case-insensitively.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise InvalidClient("client assertion typ must be JWT")


def _check_key_set_url(header: dict[str, Any], app: App) -> None:
    # SMART Backend Services: a jku header must be the registered JWK Set URL; we fetch
    # only the registered one whatever the header says.
    if "jku" in header and header["jku"] != app.jwks_url:
        raise InvalidClient("client assertion jku is not the registered JWK Set URL")


def _has_kid(jwks: dict[str, Any], kid: str) -> bool:
    return any(isinstance(k, dict) and k.get("kid") == kid for k in jwks.get("keys", []))


def _find_key(jwks: dict[str, Any], kid: str, algorithm: str) -> VerificationKey:
    """The public key with ``kid`` that can verify ``algorithm`` (RFC 7517 §4)."""
    for raw in jwks.get("keys", []):
        if isinstance(raw, dict) and raw.get("kid") == kid and _suits(raw, algorithm):
            try:
                key = JWKRegistry.import_key(raw)
            except (JoseError, ValueError, TypeError):
                continue
            if isinstance(key, RSAKey | ECKey):
                return key
    raise InvalidClient("no key of the app's JWK Set matches the assertion's kid and alg")


def _suits(raw: dict[str, Any], algorithm: str) -> bool:
    if raw.get("alg") not in (None, algorithm) or raw.get("use") not in (None, "sig"):
        return False
    if algorithm == "RS384":
        return raw.get("kty") == "RSA"
    return raw.get("kty") == "EC" and raw.get("crv") == "P-384"


def _signed_claims(assertion: str, key: VerificationKey, algorithm: str) -> dict[str, Any]:
    try:
        token = jwt.decode(assertion, key, algorithms=[algorithm])
    except (JoseError, ValueError):
        raise InvalidClient("client assertion signature is invalid") from None
    return dict(token.claims)


def _check_subject(claims: dict[str, Any], client_id: str) -> None:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("client assertion iss and sub must both be the client id")


def _check_audience(claims: dict[str, Any], token_url: str) -> None:
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if token_url not in audiences:
        raise InvalidClient("client assertion aud must be the token URL")


def _check_expiry(claims: dict[str, Any], now: float) -> float:
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise InvalidClient("client assertion has no exp")
    if expires + SKEW_SECONDS < now:
        raise InvalidClient("client assertion has expired")
    if expires > now + MAX_LIFETIME_SECONDS + SKEW_SECONDS:
        raise InvalidClient("client assertion exp is more than five minutes ahead")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and not_before > now + SKEW_SECONDS:
        raise InvalidClient("client assertion is not valid yet")
    return float(expires)


def _jti(claims: dict[str, Any]) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise InvalidClient("client assertion has no usable jti")
    return jti
