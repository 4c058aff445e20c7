"""Key pairs and client assertions for backend clients: what ``isocenter keys`` makes.

SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html): the
app keeps a private key and registers its public JWK Set (RFC 7517 §5); it then signs
client assertions (RFC 7523 §3) with RS384 or ES384. The ``kid`` defaults to the key's
RFC 7638 thumbprint, so an assertion can be signed from the private key file alone.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

ALGORITHMS = ("RS384", "ES384")
RSA_BITS = 3072
PRIVATE_KEY_FILE = "private_key.pem"
JWKS_FILE = "jwks.json"
ASSERTION_LIFETIME_SECONDS = 300

ClientKey = RSAKey | ECKey


def new_key(algorithm: str) -> ClientKey:
    """A fresh private key for ``algorithm`` (RSA 3072 bits, or EC P-384)."""
    if algorithm == "RS384":
        return RSAKey.generate_key(RSA_BITS)
    if algorithm == "ES384":
        return ECKey.generate_key("P-384")
    raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")


def public_jwks(key: ClientKey, algorithm: str, kid: str) -> dict[str, Any]:
    """The JWK Set to register: the public half only, marked for signatures."""
    public = key.as_dict(private=False)
    public.update({"kid": kid, "alg": algorithm, "use": "sig", "key_ops": ["verify"]})
    return {"keys": [public]}


def write_key_pair(
    out_dir: Path, algorithm: str, kid: str | None = None
) -> tuple[Path, Path, str]:
    """Write ``private_key.pem`` (owner-only) and ``jwks.json``; returns both and the kid."""
    key = new_key(algorithm)
    kid = kid or key.thumbprint()
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path = out_dir / PRIVATE_KEY_FILE
    jwks_path = out_dir / JWKS_FILE
    if private_path.exists() or jwks_path.exists():
        raise FileExistsError(f"{out_dir} already holds a key pair; choose another folder")
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.as_pem(private=True))
    jwks_path.write_text(json.dumps(public_jwks(key, algorithm, kid), indent=2) + "\n")
    return private_path, jwks_path, kid


def load_private_key(path: Path) -> ClientKey:
    pem = path.read_bytes()
    for key_type in (RSAKey, ECKey):
        try:
            key = key_type.import_key(pem)
        except (JoseError, ValueError, TypeError):
            continue
        if key.is_private:
            return key
    raise ValueError(f"{path} is not an RSA or EC private key")


def algorithm_of(key: ClientKey) -> str:
    return "RS384" if isinstance(key, RSAKey) else "ES384"


def sign_assertion(
    key: ClientKey,
    *,
    client_id: str,
    token_url: str,
    kid: str | None = None,
    lifetime_seconds: int = ASSERTION_LIFETIME_SECONDS,
) -> str:
    """A client assertion (RFC 7523 §3) for ``client_id`` addressed to ``token_url``."""
    algorithm = algorithm_of(key)
    header = {"alg": algorithm, "kid": kid or key.thumbprint(), "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": int(time.time()) + lifetime_seconds,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(header, claims, key, algorithms=[algorithm])
