"""String normalization (R4 search.html#string: case- and accent-insensitive)."""

from __future__ import annotations

import pytest

from isocenter.search.normalize import normalize_string


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Smith", "smith"),
        ("ADÁN", "adan"),
        ("Ramón", "ramon"),
        ("María Teresa", "maria teresa"),
        ("Straße", "strasse"),
        ("Ǆemal", "dzemal"),
        ("  Anne \t  Marie\n ", "anne marie"),
        ("ﬁeld", "field"),
        ("", ""),
    ],
)
def test_values_are_case_folded_accent_stripped_and_whitespace_collapsed(
    value: str, expected: str
) -> None:
    assert normalize_string(value) == expected


def test_composed_and_decomposed_accents_normalize_alike() -> None:
    assert normalize_string("Jos\u00e9") == normalize_string("Jose\u0301") == "jose"


def test_normalizing_twice_changes_nothing() -> None:
    once = normalize_string("  Ångström  Ünïcödé ")
    assert normalize_string(once) == once
