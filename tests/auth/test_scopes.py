"""SMART scopes: v1 and v2 grammar, query restrictions, grants and narrowing.

SMART App Launch 2.x, scopes-and-launch-context.
"""

from __future__ import annotations

import pytest

from isocenter.access import Access, Permission
from isocenter.auth.scopes import (
    ScopeError,
    grantable,
    narrow,
    parse_scope,
    permissions,
    resource_types_named,
)


@pytest.mark.parametrize(
    ("text", "context", "resource_type", "interactions", "version"),
    [
        ("patient/Observation.read", "patient", "Observation", "rs", 1),
        ("user/*.read", "user", "*", "rs", 1),
        ("system/*.read", "system", "*", "rs", 1),
        ("patient/*.write", "patient", "*", "cud", 1),
        ("user/Patient.*", "user", "Patient", "cruds", 1),
        ("*.*", "user", "*", "cruds", 1),
        ("patient/Observation.rs", "patient", "Observation", "rs", 2),
        ("patient/Observation.r", "patient", "Observation", "r", 2),
        ("user/Encounter.cud", "user", "Encounter", "cud", 2),
        ("user/*.cruds", "user", "*", "cruds", 2),
        ("system/Patient.s", "system", "Patient", "s", 2),
        ("user/Condition.cs", "user", "Condition", "cs", 2),
    ],
)
def test_resource_scopes_parse_in_v1_and_v2_forms(
    text: str, context: str, resource_type: str, interactions: str, version: int
) -> None:
    [scope] = parse_scope(text)

    assert scope.text == text
    assert scope.context == context
    assert scope.resource_type == resource_type
    assert scope.interactions == frozenset(interactions)
    assert scope.version == version


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.sr",
        "patient/Observation.rc",
        "user/*.dc",
        "patient/Observation.rr",
        "patient/Observation.x",
        "patient/Observation.readwrite",
        "patient/Observation.read?category=laboratory",
        "clinician/Observation.read",
        "patient/Observation.rs?category",
        "patient/observation.rs",
    ],
)
def test_malformed_resource_scopes_are_refused(text: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope(text)


def test_query_restrictions_are_parsed_into_sorted_pairs() -> None:
    [scope] = parse_scope(
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
        "observation-category|laboratory&status=final"
    )

    assert scope.version == 2
    assert scope.query == (
        (
            "category",
            "http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        ),
        ("status", "final"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    ],
)
def test_launch_and_identity_scopes_are_not_resource_scopes(text: str) -> None:
    [scope] = parse_scope(text)

    assert scope.text == text
    assert not scope.is_resource


def test_repeated_scopes_are_kept_once_in_order() -> None:
    scopes = parse_scope("openid  patient/Patient.read openid launch")

    assert [s.text for s in scopes] == ["openid", "patient/Patient.read", "launch"]


def test_grant_keeps_only_what_the_registered_scopes_cover() -> None:
    registered = "openid fhirUser launch/patient offline_access patient/*.rs user/Patient.read"
    requested = (
        "openid fhirUser launch/patient online_access patient/Observation.read "
        "patient/Condition.rs?clinical-status=active patient/Observation.cruds "
        "user/Observation.read user/Patient.r"
    )

    assert grantable(requested, registered) == (
        "openid fhirUser launch/patient patient/Observation.read "
        "patient/Condition.rs?clinical-status=active user/Patient.r"
    )


def test_a_registered_query_restriction_covers_only_as_narrow_requests() -> None:
    registered = "patient/Observation.rs?category=laboratory"

    assert grantable("patient/Observation.rs", registered) == ""
    assert (
        grantable("patient/Observation.r?category=laboratory&status=final", registered)
        == "patient/Observation.r?category=laboratory&status=final"
    )


def test_a_malformed_requested_scope_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(ScopeError):
        grantable("patient/Observation.sr", "patient/*.cruds")


def test_permissions_carry_context_type_interactions_and_query() -> None:
    granted = "openid patient/Observation.rs?category=laboratory user/*.read"

    assert permissions(granted) == (
        Permission("patient", "Observation", frozenset("rs"), (("category", "laboratory"),)),
        Permission("user", "*", frozenset("rs")),
    )


def test_resource_types_named_lists_wildcard_first() -> None:
    named = resource_types_named("patient/Observation.rs patient/*.read user/Condition.r")

    assert named == ["*", "Condition", "Observation"]


def test_narrow_drops_unticked_types_and_expands_wildcards() -> None:
    granted = "openid launch/patient patient/*.read patient/Condition.rs"

    narrowed = narrow(
        granted, {"Observation", "Condition"}, ["Patient", "Observation", "Condition"]
    )

    assert narrowed == "openid launch/patient patient/Patient.read"


def test_narrow_keeps_v2_query_restrictions_when_expanding() -> None:
    narrowed = narrow("patient/*.rs?_security=N", {"Patient"}, ["Observation", "Patient"])

    assert narrowed == "patient/Observation.rs?_security=N"


def test_narrow_without_removals_changes_nothing() -> None:
    assert narrow("patient/*.read", set(), ["Patient"]) == "patient/*.read"


def _access(scope: str, patient: str | None = None) -> Access:
    return Access(
        client_id="app",
        username="u",
        fhir_user=None,
        patient=patient,
        permissions=permissions(scope),
        scope=scope,
    )


def test_access_allows_reads_and_searches_its_scopes_name() -> None:
    access = _access("patient/Observation.rs patient/Patient.r", patient="p1")

    assert access.allows("Observation", "s")
    assert access.allows("Patient", "r")
    assert not access.allows("Patient", "s")
    assert not access.allows("Condition", "r")


def test_patient_limited_access_is_never_allowed_to_write() -> None:
    access = _access("patient/*.cruds", patient="p1")

    assert access.is_patient_limited
    assert not access.allows("Observation", "c")
    assert not access.allows("Observation", "u")
    assert not access.allows("Observation", "d")


def test_restrictions_are_empty_when_one_scope_is_unrestricted() -> None:
    restricted = _access(
        "user/Observation.rs?category=laboratory user/Observation.rs?category=vital-signs"
    )
    open_too = _access("user/Observation.rs?category=laboratory user/*.read")

    assert restricted.restrictions("Observation", "s") == [
        (("category", "laboratory"),),
        (("category", "vital-signs"),),
    ]
    assert open_too.restrictions("Observation", "s") == []
