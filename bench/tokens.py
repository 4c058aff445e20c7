"""A bearer token for the benchmark's requests: system read access, minted in-process.

The FHIR routes sit behind the SMART guard, so reads and searches carry a token like any
backend client's. The benchmark signs one with the server's own key set in the same
database (as the token endpoint would), so every request pays the real verification.
"""

from __future__ import annotations

from isocenter.auth.keys import SigningKeys
from isocenter.auth.tokens import issue_access_token
from isocenter.config import Settings
from isocenter.store.engine import make_engine

CLIENT_ID = "isocenter-bench"
SCOPE = "system/*.read"


def bench_token(database_url: str, base_url: str) -> str:
    """An access token for ``SCOPE`` that the server at ``base_url`` accepts."""
    engine = make_engine(database_url)
    try:
        keys = SigningKeys(engine, Settings(base_url=base_url, database_url=database_url))
        token, _jti, _expires = issue_access_token(
            keys,
            client_id=CLIENT_ID,
            username=None,
            scope=SCOPE,
            patient=None,
            encounter=None,
            fhir_user=None,
            authorization_id=None,
        )
    finally:
        engine.dispose()
    return token
