"""What the consent page says an app asks for, in plain words, and what is left when the
user unticks some of it.

SMART App Launch 2.x lets the server grant less than the app asked and tell it so in the
token response's ``scope`` (scopes-and-launch-context.html); the issue asks that the user
may untick any resource type. A wildcard (``patient/*.rs``) is shown as the US Core types
one by one plus "other records", so each can be taken away; unticking expands the wildcard
into the remaining explicit types (``scopes.narrow``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from isocenter.auth.scopes import Scope, narrow, parse_scope

OTHER = "other"

# Plain words for the record types a patient meets in US Core, and a few oncology ones.
PLAIN_WORDS: dict[str, str] = {
    "AllergyIntolerance": "Allergies and intolerances",
    "CarePlan": "Care plans",
    "CareTeam": "Care teams",
    "Condition": "Conditions, problems and diagnoses",
    "Device": "Implanted devices",
    "DiagnosticReport": "Lab, imaging and pathology reports",
    "DocumentReference": "Clinical notes and documents",
    "Encounter": "Visits and admissions",
    "Goal": "Health goals",
    "Immunization": "Immunizations",
    "Location": "Places of care",
    "Medication": "Medicines",
    "MedicationRequest": "Prescriptions and medication orders",
    "Observation": "Lab results, vital signs and other observations",
    "Organization": "Hospitals, clinics and other organizations",
    "Patient": "Demographics: name, birth date, address and contact details",
    "Practitioner": "Clinicians who care for the patient",
    "PractitionerRole": "Clinicians' roles and specialties",
    "Procedure": "Procedures, surgery and radiation treatments",
    "Provenance": "Where each record came from",
}

# Non-resource scopes the user should hear about; the rest (launch context plumbing) go
# without saying because they add nothing the resource list does not already show.
SPECIAL_WORDS: dict[str, str] = {
    "openid": "Know who you are (your account)",
    "fhirUser": "Read your own record as the signed-in user",
    "profile": "Read your name and profile",
}


@dataclass(frozen=True)
class ConsentItem:
    """One line of the consent form: a checkbox that can be unticked."""

    value: str  # a resource type, or OTHER
    label: str
    access: str  # "read" or "read and change"
    only: str = ""  # a query restriction in words, e.g. "category = laboratory"


def items(scope_text: str, all_types: Collection[str]) -> list[ConsentItem]:
    """The resource lines of the consent page for a granted scope string."""
    resource_scopes = [s for s in parse_scope(scope_text) if s.is_resource]
    named = [s.resource_type for s in resource_scopes if s.resource_type != "*"]
    wildcard = any(s.resource_type == "*" for s in resource_scopes)
    shown = sorted(t for t in PLAIN_WORDS if t in all_types) if wildcard else []
    lines = [_item(t, resource_scopes) for t in dict.fromkeys([*named, *shown]) if t]
    if wildcard:
        wildcards = [s for s in resource_scopes if s.resource_type == "*"]
        lines.append(ConsentItem(OTHER, "Any other kind of record", _access(wildcards)))
    return lines


def special_words(scope_text: str) -> list[str]:
    """Plain words for the identity scopes asked for."""
    return [SPECIAL_WORDS[s.text] for s in parse_scope(scope_text) if s.text in SPECIAL_WORDS]


def narrowed(scope_text: str, kept: Iterable[str], all_types: Collection[str]) -> str:
    """The scope after the user left only the ``kept`` checkboxes ticked."""
    lines = items(scope_text, all_types)
    kept_values = set(kept)
    removed = {line.value for line in lines if line.value not in kept_values}
    if OTHER in removed:
        listed = {line.value for line in lines}
        removed = (removed - {OTHER}) | (set(all_types) - listed)
    return narrow(scope_text, removed, all_types)


def _item(resource_type: str, scopes: list[Scope]) -> ConsentItem:
    covering = [s for s in scopes if s.resource_type in ("*", resource_type)]
    label = PLAIN_WORDS.get(resource_type) or f"{resource_type} records"
    restrictions = sorted({_restriction(s) for s in covering if s.query})
    only = "" if any(not s.query for s in covering) else "; or ".join(restrictions)
    return ConsentItem(resource_type, label, _access(covering), only)


def _access(scopes: list[Scope]) -> str:
    interactions = set().union(*(s.interactions for s in scopes)) if scopes else set()
    return "read and change" if interactions & set("cud") else "read"


def _restriction(scope: Scope) -> str:
    return " and ".join(f"{name} = {value}" for name, value in scope.query)
