"""Access and id tokens: round trip, and every way a forged or stale token is refused.

RFC 7519 (JWT), RFC 8725 (JWT best practices: no alg none, no RS/HS confusion),
OpenID Connect Core §2 (id_token claims), SMART App Launch 2.x (fhirUser).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, select

from isocenter.auth.keys import SigningKeys
from isocenter.auth.revocation import RevocationList
from isocenter.auth.tokens import (
    InvalidToken,
    issue_access_token,
    issue_id_token,
    verify_access_token,
)
from isocenter.store.schema import access_token
from tests.auth.conftest import BASE_URL, FHIR_BASE


def _issue(keys: SigningKeys, **overrides: Any) -> tuple[str, str, int]:
    arguments: dict[str, Any] = {
        "client_id": "app-1",
        "username": "alice",
        "scope": "launch/patient openid fhirUser patient/Observation.rs patient/Patient.read",
        "patient": "p1",
        "encounter": "e1",
        "fhir_user": "Practitioner/dr1",
        "authorization_id": "grant-1",
    }
    return issue_access_token(keys, **{**arguments, **overrides})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _signed_with_server_key(keys: SigningKeys, **claims: Any) -> str:
    now = int(time.time())
    base = {
        "iss": BASE_URL,
        "aud": FHIR_BASE,
        "sub": "alice",
        "iat": now,
        "exp": now + 60,
        "jti": "jti-forged",
        "client_id": "app-1",
        "scope": "user/*.read",
    }
    current = keys.current()
    header = {"alg": "RS256", "kid": current.kid}
    return jwt.encode(header, {**base, **claims}, current.key, algorithms=["RS256"])


def test_an_issued_token_verifies_into_its_access(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, jti, _ = _issue(keys)

    access = verify_access_token(keys, revocations, token)

    assert access.client_id == "app-1"
    assert access.username == "alice"
    assert access.fhir_user == "Practitioner/dr1"
    assert access.patient == "p1"
    assert access.jti == jti
    assert access.allows("Observation", "s") and not access.allows("Condition", "r")


def test_claims_carry_iss_aud_exp_jti_and_an_absolute_fhir_user(keys: SigningKeys) -> None:
    token, jti, expires_at = _issue(keys)

    claims = _claims(token)

    assert claims["iss"] == BASE_URL
    assert claims["aud"] == FHIR_BASE
    assert claims["jti"] == jti
    assert claims["exp"] * 1_000_000 == expires_at
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["fhirUser"] == FHIR_BASE + "/Practitioner/dr1"
    assert claims["patient"] == "p1" and claims["encounter"] == "e1"


def test_issued_jtis_are_recorded_with_their_grant(keys: SigningKeys, engine: Engine) -> None:
    _, jti, expires_at = _issue(keys)

    with engine.connect() as conn:
        row = conn.execute(select(access_token).where(access_token.c.jti == jti)).one()
    assert (row.authorization_id, row.client_id, row.expires_at) == (
        "grant-1",
        "app-1",
        expires_at,
    )


def test_every_token_has_its_own_jti(keys: SigningKeys) -> None:
    assert _issue(keys)[1] != _issue(keys)[1]


def test_a_patient_user_is_limited_to_their_own_compartment_under_user_scopes(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, _, _ = _issue(keys, scope="user/*.read", patient=None, fhir_user="Patient/p7")

    assert verify_access_token(keys, revocations, token).patient == "p7"


def test_a_clinician_under_user_scopes_is_not_patient_limited(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, _, _ = _issue(keys, scope="launch user/*.read", fhir_user="Practitioner/dr1")

    assert verify_access_token(keys, revocations, token).patient is None


def test_patient_scopes_cannot_be_issued_without_a_patient(keys: SigningKeys) -> None:
    with pytest.raises(ValueError):
        _issue(keys, patient=None)


def test_a_token_with_patient_scopes_but_no_patient_claim_is_refused(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token = _signed_with_server_key(keys, scope="patient/*.read")

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


def test_a_tampered_payload_fails_the_signature(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, _, _ = _issue(keys)
    header, payload, signature = token.split(".")
    claims = _claims(token) | {"scope": "user/*.cruds", "patient": "p2"}
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, forged)


def test_a_tampered_signature_is_refused(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, _, _ = _issue(keys)
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, f"{header}.{payload}.{flipped}")


def test_alg_none_is_refused(keys: SigningKeys, revocations: RevocationList) -> None:
    token, _, _ = _issue(keys)
    payload = token.split(".")[1]
    kid = keys.current().kid
    header = _b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())

    for unsigned in (f"{header}.{payload}.", f"{header}.{payload}"):
        with pytest.raises(InvalidToken):
            verify_access_token(keys, revocations, unsigned)


def test_hs256_signed_with_the_public_key_as_secret_is_refused(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    """The RS/HS key-confusion attack: the public key used as an HMAC secret."""
    token, _, _ = _issue(keys)
    payload = token.split(".")[1]
    current = keys.current()
    header = _b64(json.dumps({"alg": "HS256", "kid": current.kid, "typ": "JWT"}).encode())
    for secret in (current.key.as_pem(private=False), json.dumps(keys.jwks()).encode()):
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken):
            verify_access_token(keys, revocations, f"{header}.{payload}.{_b64(mac)}")


def test_a_token_signed_by_a_foreign_key_with_our_kid_is_refused(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    foreign = RSAKey.generate_key(2048)
    now = int(time.time())
    claims = {"iss": BASE_URL, "aud": FHIR_BASE, "iat": now, "exp": now + 60, "jti": "x"}
    header = {"alg": "RS256", "kid": keys.current().kid}
    token = jwt.encode(header, claims | {"sub": "a", "client_id": "c", "scope": ""}, foreign)

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


def test_an_expired_token_is_refused(keys: SigningKeys, revocations: RevocationList) -> None:
    long_ago = int(time.time()) - 7200
    token = _signed_with_server_key(keys, iat=long_ago, exp=long_ago + 3600)

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


def test_a_token_for_another_audience_is_refused(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token = _signed_with_server_key(keys, aud="https://elsewhere.example.org/fhir")

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


def test_a_token_from_another_issuer_is_refused(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token = _signed_with_server_key(keys, iss="https://elsewhere.example.org")

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


def test_a_token_without_exp_is_refused(keys: SigningKeys, revocations: RevocationList) -> None:
    token = _signed_with_server_key(keys, exp=None)

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


def test_a_revoked_token_is_refused_at_once(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, jti, expires_at = _issue(keys)
    verify_access_token(keys, revocations, token)

    revocations.revoke(jti, expires_at)

    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "é.é.é"])
def test_garbage_is_an_invalid_token(
    keys: SigningKeys, revocations: RevocationList, garbage: str
) -> None:
    with pytest.raises(InvalidToken):
        verify_access_token(keys, revocations, garbage)


def test_a_token_signed_before_rotation_still_verifies(
    keys: SigningKeys, revocations: RevocationList
) -> None:
    token, _, _ = _issue(keys)

    keys.rotate()

    assert verify_access_token(keys, revocations, token).client_id == "app-1"


def test_an_id_token_carries_the_oidc_claims_and_verifies_against_the_jwks(
    keys: SigningKeys,
) -> None:
    """Checked as a client checks it, OIDC Core §3.1.3.7: JWKS signature, iss, aud, nonce."""
    id_token = issue_id_token(
        keys,
        client_id="app-1",
        username="alice",
        fhir_user="Patient/p1",
        nonce="n-123",
        auth_time=1_700_000_000,
    )

    jwks_key = RSAKey.import_key(keys.jwks()["keys"][0])
    claims = jwt.decode(id_token, jwks_key, algorithms=["RS256"]).claims
    assert claims["iss"] == BASE_URL
    assert claims["aud"] == "app-1"
    assert claims["sub"] == "alice"
    assert claims["nonce"] == "n-123"
    assert claims["auth_time"] == 1_700_000_000
    assert claims["fhirUser"] == FHIR_BASE + "/Patient/p1"
    assert claims["exp"] > claims["iat"]


class TestVerifiedTokens:
    """The guard's cache of verified tokens never outlives what made them valid."""

    def _token(self, keys: Any) -> str:
        from isocenter.auth.tokens import issue_access_token

        token, _, _ = issue_access_token(
            keys,
            client_id="app",
            username=None,
            scope="system/*.read",
            patient=None,
            encounter=None,
            fhir_user=None,
            authorization_id=None,
        )
        return token

    def test_a_revoked_token_is_refused_though_cached(self, keys: Any, engine: Any) -> None:
        from isocenter.auth.revocation import RevocationList
        from isocenter.auth.tokens import InvalidToken, VerifiedTokens

        revocations = RevocationList(engine)
        cache = VerifiedTokens()
        token = self._token(keys)
        access = cache.verify(keys, revocations, token)
        revocations.revoke(access.jti, 2**40)
        with pytest.raises(InvalidToken):
            cache.verify(keys, revocations, token)

    def test_a_withdrawn_key_stops_cached_tokens_at_once(self, keys: Any, engine: Any) -> None:
        from isocenter.auth.revocation import RevocationList
        from isocenter.auth.tokens import InvalidToken, VerifiedTokens

        revocations = RevocationList(engine)
        cache = VerifiedTokens()
        token = self._token(keys)
        cache.verify(keys, revocations, token)
        keys.rotate(compromised=True)
        with pytest.raises(InvalidToken):
            cache.verify(keys, revocations, token)
