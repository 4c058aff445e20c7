"""The patient picker: a clinician's standalone launch that asks for ``launch/patient``.

SMART App Launch 2.x (scopes-and-launch-context.html#launch-context-arrives-with-your-
access_token): when an app asks for a patient in context and none came from the EHR, the
server lets the user choose one. Search is by name, birth date or MRN, through the same
search engine and indexes as ``GET /fhir/Patient?name=...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from isocenter.store.repository import Store

MAX_CHOICES = 20
# v2-0203 identifier type for a medical record number.
MRN_TYPE = "MR"


@dataclass(frozen=True)
class PatientChoice:
    id: str
    name: str
    birth_date: str
    mrn: str


class PickerError(ValueError):
    """The search could not run as typed (a malformed birth date, say)."""


def find_patients(
    search: SearchEngine, *, name: str = "", birth_date: str = "", mrn: str = ""
) -> list[PatientChoice]:
    """Patients matching every criterion given (FHIR search ``name``, ``birthdate``,
    ``identifier``), at most ``MAX_CHOICES``."""
    params = [
        (parameter, value.strip())
        for parameter, value in (("name", name), ("birthdate", birth_date), ("identifier", mrn))
        if value.strip()
    ]
    if not params:
        return []
    try:
        result = search.search("Patient", [*params, ("_count", str(MAX_CHOICES))])
    except OperationOutcomeError as exc:
        raise PickerError(exc.diagnostics) from exc
    return [choice(stored.parsed()) for stored in result.matches]


def patient_choice(store: Store, patient_id: str) -> PatientChoice | None:
    """The current Patient ``patient_id`` as a picker line, or None if there is none."""
    stored = store.read("Patient", patient_id)
    if stored is None or stored.deleted:
        return None
    return choice(stored.parsed())


def choice(patient: dict[str, Any]) -> PatientChoice:
    return PatientChoice(
        id=patient["id"],
        name=display_name(patient),
        birth_date=patient.get("birthDate", "unknown"),
        mrn=_mrn(patient),
    )


def display_name(patient: dict[str, Any]) -> str:
    """ "Given Family" of the official (else first) name; the id when there is no name."""
    names = patient.get("name") or []
    official = [n for n in names if n.get("use") == "official"]
    for name in official + names:
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        if any(parts):
            return " ".join(part for part in parts if part)
    return f"Patient {patient.get('id', '')}"


def _mrn(patient: dict[str, Any]) -> str:
    identifiers = patient.get("identifier") or []
    for identifier in identifiers:
        codings = identifier.get("type", {}).get("coding", [])
        if any(coding.get("code") == MRN_TYPE for coding in codings):
            return str(identifier.get("value", ""))
    return str(identifiers[0].get("value", "")) if identifiers else ""
