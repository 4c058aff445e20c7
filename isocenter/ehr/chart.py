"""What the clinician's chart shows: one patient's demographics and short lists.

Read straight from the store and the search engine (the EHR is the record's own front
end, not a SMART app), and flattened into plain rows so templates stay free of FHIR paths.
Finding a patient is the patient picker's search (``auth.picker``), shared with the
clinician's standalone launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isocenter.auth.picker import PatientChoice, choice
from isocenter.fhir.context import FhirContext
from isocenter.outcomes import not_found

Json = dict[str, Any]

LIST_LIMIT = 20


@dataclass(frozen=True)
class ChartRow:
    """One line of a chart list: what it is, its status and when."""

    id: str
    text: str
    status: str
    when: str


@dataclass(frozen=True)
class Chart:
    patient: PatientChoice
    gender: str
    conditions: list[ChartRow]
    medications: list[ChartRow]
    encounters: list[ChartRow]


def chart(context: FhirContext, patient_id: str) -> Chart:
    """The patient's demographics and recent conditions, medications and encounters."""
    stored = context.store.read("Patient", patient_id)
    if stored is None or stored.deleted:
        raise not_found("Patient", patient_id)
    patient = stored.parsed()
    return Chart(
        patient=choice(patient),
        gender=patient.get("gender", ""),
        conditions=_list(context, "Condition", patient_id, "-recorded-date", _condition),
        medications=_list(context, "MedicationRequest", patient_id, "-authoredon", _medication),
        encounters=_list(context, "Encounter", patient_id, "-date", _encounter),
    )


def _list(
    context: FhirContext, resource_type: str, patient_id: str, sort: str, row: Any
) -> list[ChartRow]:
    params = [("patient", patient_id), ("_sort", sort), ("_count", str(LIST_LIMIT))]
    result = context.search_engine().search(resource_type, params)
    rows: list[ChartRow] = [row(match.parsed()) for match in result.matches]
    return rows


def concept_text(concept: Json | None) -> str:
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding", [])
    return next((str(c["display"]) for c in codings if c.get("display")), "")


def _condition(condition: Json) -> ChartRow:
    return ChartRow(
        id=condition["id"],
        text=concept_text(condition.get("code")) or "(no code)",
        status=concept_text(condition.get("clinicalStatus"))
        or _code(condition, "clinicalStatus"),
        when=condition.get("onsetDateTime") or condition.get("recordedDate", ""),
    )


def _medication(request: Json) -> ChartRow:
    medication = concept_text(request.get("medicationCodeableConcept"))
    if not medication:
        medication = request.get("medicationReference", {}).get("display", "(medication)")
    return ChartRow(
        id=request["id"],
        text=medication,
        status=request.get("status", ""),
        when=request.get("authoredOn", ""),
    )


def _encounter(encounter: Json) -> ChartRow:
    types = encounter.get("type", [])
    text = concept_text(types[0]) if types else ""
    return ChartRow(
        id=encounter["id"],
        text=text or encounter.get("class", {}).get("display", "Encounter"),
        status=encounter.get("status", ""),
        when=encounter.get("period", {}).get("start", ""),
    )


def _code(resource: Json, element: str) -> str:
    codings = resource.get(element, {}).get("coding", [])
    return str(codings[0].get("code", "")) if codings else ""
