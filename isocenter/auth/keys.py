"""The server's signing keys: generated on first use, kept in the database, rotated.

Tokens are signed RS256 (SMART App Launch 2.x requires RS256 for id_tokens; we use it for
access tokens too). A rotated-out key stays in the JWK Set (RFC 7517 §5) until
``publish_until``: long enough for every token it signed to have expired, so a relying
party never meets a token it cannot verify.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, insert, or_, select, update

from isocenter.auth.database import reading
from isocenter.config import Settings
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import signing_key

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
KEY_BITS = 2048
# How long a process keeps signing with the key it last read before looking again, so a
# rotation in another process is followed within this time.
CURRENT_KEY_SECONDS = 30
# Extra time a retired key stays published: clock skew plus CURRENT_KEY_SECONDS.
PUBLISH_MARGIN_SECONDS = 300
# A token whose kid this process does not know rereads the key table at most this often
# (a key made by another process's rotation is found within this time).
UNKNOWN_KID_RELOAD_SECONDS = 1.0
# Known keys are reread this often too, so a key withdrawn elsewhere (after a compromise,
# say) stops verifying in every process within this time.
PUBLIC_KEYS_SECONDS = 60.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: RSAKey
    publish_until: int | None  # µs; None while the key is current


class SigningKeys:
    """The issuer's key set over one engine.

    ``issuer`` (the ``iss`` of every token) and ``audience`` (the FHIR base URL, ``aud``
    of access tokens) come from the settings, never from a request's Host header.
    """

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.engine = engine
        self.issuer = settings.base_url.rstrip("/")
        self.audience = settings.fhir_base_url
        # Tokens live at most this long, id tokens included (see tokens.py).
        self.token_lifetime_seconds = settings.access_token_lifetime_seconds
        self._lock = threading.Lock()
        self._current: SigningKey | None = None
        self._current_read_at = 0.0
        self._public: dict[str, SigningKey] = {}
        self._public_read_at = float("-inf")
        # Counts rotations in this process, so caches of verified tokens start over.
        self.generation = 0

    def current(self) -> SigningKey:
        """The key to sign with; generated and stored on first use."""
        with self._lock:
            fresh = time.monotonic() - self._current_read_at < CURRENT_KEY_SECONDS
            if self._current is None or not fresh:
                self._current = self._read_current() or self._generate()
                self._current_read_at = time.monotonic()
                self._public[self._current.kid] = self._current
            return self._current

    def rotate(self, *, compromised: bool = False) -> SigningKey:
        """Retire the current key and start a new one.

        The retired key stays published until the tokens it signed have expired; a
        ``compromised`` key is withdrawn at once, and every token it signed with it.
        """
        now = now_microseconds()
        keep_seconds = (
            0 if compromised else self.token_lifetime_seconds + PUBLISH_MARGIN_SECONDS
        )
        with self.engine.begin() as conn:
            conn.execute(
                update(signing_key)
                .where(signing_key.c.retired_at.is_(None))
                .values(retired_at=now, publish_until=now + keep_seconds * 1_000_000)
            )
        with self._lock:
            self.generation += 1
            self._public, self._public_read_at = {}, float("-inf")
            self._current = self._generate()
            self._current_read_at = time.monotonic()
            self._public[self._current.kid] = self._current
            return self._current

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set: every key not past its ``publish_until``, never empty."""
        self.current()  # generated on first start, before any token needs it
        return {"keys": [_public_jwk(key) for key in self._published()]}

    def public_key(self, kid: str) -> RSAKey | None:
        """The published key with this ``kid``; an unknown kid rereads the table.

        Rereads happen at most once per UNKNOWN_KID_RELOAD_SECONDS, so tokens with made-up
        kids cannot turn every request into a database query.
        """
        known = self._public.get(kid)
        age = time.monotonic() - self._public_read_at
        if age >= PUBLIC_KEYS_SECONDS or (known is None and age >= UNKNOWN_KID_RELOAD_SECONDS):
            self._public_read_at = time.monotonic()
            self._public = {key.kid: key for key in self._published()}
            known = self._public.get(kid)
        if known is None or _past(known.publish_until):
            return None
        return known.key

    def _published(self) -> list[SigningKey]:
        with reading(self.engine) as conn:
            rows = conn.execute(
                select(signing_key)
                .where(
                    or_(
                        signing_key.c.publish_until.is_(None),
                        signing_key.c.publish_until > now_microseconds(),
                    )
                )
                .order_by(signing_key.c.created_at)
            ).all()
        return [_from_row(row) for row in rows]

    def _read_current(self) -> SigningKey | None:
        with reading(self.engine) as conn:
            row = conn.execute(
                select(signing_key)
                .where(signing_key.c.retired_at.is_(None))
                .order_by(signing_key.c.created_at.desc())
                .limit(1)
            ).first()
        return _from_row(row) if row is not None else None

    def _generate(self) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        key = _import(pem, kid=None)
        kid = key.thumbprint()  # RFC 7638: a stable id derived from the public key
        key = _import(pem, kid=kid)
        with self.engine.begin() as conn:
            conn.execute(
                insert(signing_key).values(
                    kid=kid,
                    alg=ALGORITHM,
                    private_pem=pem,
                    public_jwk=json.dumps(_public_jwk(SigningKey(kid, key, None))),
                    created_at=now_microseconds(),
                )
            )
        log.info("generated signing key %s", kid)
        return SigningKey(kid, key, None)


def _import(pem: str, *, kid: str | None) -> RSAKey:
    parameters: dict[str, Any] = {"alg": ALGORITHM, "use": "sig"}
    if kid is not None:
        parameters["kid"] = kid
    return RSAKey.import_key(pem, parameters)  # type: ignore[arg-type]


def _from_row(row: Any) -> SigningKey:
    return SigningKey(row.kid, _import(row.private_pem, kid=row.kid), row.publish_until)


def _public_jwk(key: SigningKey) -> dict[str, Any]:
    jwk = key.key.as_dict(private=False)
    return {**jwk, "kid": key.kid, "alg": ALGORITHM, "use": "sig"}


def _past(instant: int | None) -> bool:
    return instant is not None and instant <= now_microseconds()
