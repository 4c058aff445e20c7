"""PKCE S256 (RFC 7636): challenge rules at authorize, verifier rules at the token endpoint."""

from __future__ import annotations

import pytest

from isocenter.auth import pkce

# RFC 7636 Appendix B: the worked example.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_the_rfc_appendix_b_example() -> None:
    assert pkce.s256(RFC_VERIFIER) == RFC_CHALLENGE


def test_a_s256_challenge_is_accepted() -> None:
    assert pkce.check_challenge(RFC_CHALLENGE, "S256") == RFC_CHALLENGE


def test_a_missing_challenge_is_refused() -> None:
    with pytest.raises(pkce.PkceError, match="required"):
        pkce.check_challenge(None, "S256")


def test_plain_code_challenge_method_is_refused() -> None:
    with pytest.raises(pkce.PkceError, match="S256"):
        pkce.check_challenge(RFC_VERIFIER, "plain")


def test_a_missing_method_means_plain_and_is_refused() -> None:
    with pytest.raises(pkce.PkceError, match="S256"):
        pkce.check_challenge(RFC_CHALLENGE, None)


def test_a_challenge_that_is_not_a_sha256_digest_is_refused() -> None:
    with pytest.raises(pkce.PkceError, match="digest"):
        pkce.check_challenge("too-short", "S256")


def test_the_matching_verifier_is_accepted() -> None:
    pkce.verify(RFC_VERIFIER, RFC_CHALLENGE)


def test_a_wrong_verifier_is_refused() -> None:
    with pytest.raises(pkce.PkceError, match="does not match"):
        pkce.verify("x" * 43, RFC_CHALLENGE)


def test_a_missing_verifier_is_refused() -> None:
    with pytest.raises(pkce.PkceError, match="required"):
        pkce.verify(None, RFC_CHALLENGE)


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + " ", "a" * 42 + "+", "a" * 42 + "é"],
    ids=["42-chars", "129-chars", "space", "plus", "non-ascii"],
)
def test_a_verifier_outside_the_unreserved_43_to_128_form_is_refused(verifier: str) -> None:
    with pytest.raises(pkce.PkceError, match="43 to 128"):
        pkce.verify(verifier, pkce.s256("a" * 43))


@pytest.mark.parametrize("length", [43, 128])
def test_verifiers_at_both_length_limits_are_accepted(length: int) -> None:
    verifier = "A-._~9" * 30
    verifier = verifier[:length]
    pkce.verify(verifier, pkce.s256(verifier))
