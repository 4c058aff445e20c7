"""String normalization shared by the string indexer and string search queries.

R4 search, string parameters (https://hl7.org/fhir/R4/search.html#string): matching is
case- and accent-insensitive ("the search is case-insensitive and accent-insensitive") and
matches on the start of the value. Both sides are reduced to the same normal form here so
that SQL compares with plain equality or ``LIKE 'prefix%'``.
"""

from __future__ import annotations

import unicodedata


def normalize_string(value: str) -> str:
    """Case-fold, strip accents (NFKD without combining marks), collapse whitespace."""
    if value.isascii():
        return " ".join(value.lower().split())
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.split())
