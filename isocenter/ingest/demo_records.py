"""The rest of each demo record: AllergyIntolerances, Immunizations, clinical notes as
DocumentReferences, and the pathology report as a US Core note DiagnosticReport.

Note texts are short plain-text documents written from the case table, carried base64
encoded in ``attachment.data`` as US Core DocumentReference asks.
"""

from __future__ import annotations

import base64
import random
from datetime import date, datetime, timedelta

from isocenter.ingest.demo_cases import Case
from isocenter.ingest.demo_catalog import ALLERGENS, DRUGS, VACCINES
from isocenter.ingest.demo_directory import (
    CANCER_INSTITUTE,
    CLINICIAN_BY_ID,
    ONCOLOGY_CLINIC,
    REFERENCE_LAB,
)
from isocenter.ingest.demo_encounters import NURSE, Visit, last_day, on_cytotoxic_treatment
from isocenter.ingest.demo_oncology import radiotherapy_note
from isocenter.ingest.demo_terms import (
    CVX,
    DOCUMENT_SYSTEM,
    LOINC,
    SNOMED,
    US_CORE_CODES,
    Json,
    coding,
    concept,
    hl7,
    profile,
    ref,
)
from isocenter.ingest.demo_time import at, day, local, utc


def allergies(case: Case, consult: Visit) -> list[Json]:
    return [_allergy(case, key, consult) for key in case.allergies]


def _allergy(case: Case, key: str, consult: Visit) -> Json:
    allergen = ALLERGENS[key]
    resource: Json = {
        "resourceType": "AllergyIntolerance",
        "id": f"{case.patient_id}-allergy-{key}",
        "meta": profile("us-core-allergyintolerance"),
        "clinicalStatus": hl7("allergyintolerance-clinical", "active", "Active"),
        "verificationStatus": hl7("allergyintolerance-verification", "confirmed", "Confirmed"),
        "code": concept(allergen.system, allergen.code, allergen.display),
        "patient": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", consult.id),
        "recordedDate": local(consult.start + timedelta(minutes=5)),
        "recorder": ref("Practitioner", NURSE),
    }
    if allergen.category is None:
        return resource
    resource["type"] = (
        "intolerance" if allergen.reaction == ("422587007", "Nausea") else "allergy"
    )
    resource["category"] = [allergen.category]
    resource["criticality"] = allergen.criticality
    if allergen.reaction:
        resource["reaction"] = [
            {
                "manifestation": [concept(SNOMED, *allergen.reaction)],
                "severity": "severe" if allergen.criticality == "high" else "mild",
            }
        ]
    return resource


def _age_on(case: Case, moment: date) -> int:
    born = case.person.birth_date
    return moment.year - born.year - ((moment.month, moment.day) < (born.month, born.day))


def _vaccinations(case: Case) -> list[tuple[str, date | datetime]]:
    """(CVX code, when) pairs: doses given here carry a time, earlier ones a date only."""
    shots: list[tuple[str, date | datetime]] = []
    five = case.person.birth_date.replace(year=case.person.birth_date.year + 5)
    shots.extend((code, five) for code in case.extra_vaccines)
    if _age_on(case, case.cancer.diagnosed) >= 65:
        shots.append(("33", case.cancer.diagnosed - timedelta(days=400)))
    if _age_on(case, case.cancer.diagnosed) >= 50:
        shots.append(("187", case.cancer.diagnosed - timedelta(days=700)))
    covid = date(2021, 4, 5 + case.seed % 20)
    if _age_on(case, covid) >= 12:
        shots.append(("208", covid))
    for year in range(case.cancer.diagnosed.year - 1, last_day(case).year + 1):
        october = at(date(year, 10, 2 + case.seed % 20), 10, 30)
        if _age_on(case, october.date()) >= 1 and october.date() <= last_day(case):
            seen_here = october.date() > case.cancer.diagnosed
            shots.append(("150", october if seen_here else october.date()))
    return shots


def immunizations(case: Case, rng: random.Random) -> list[Json]:
    return [
        _immunization(case, number, code, when, rng)
        for number, (code, when) in enumerate(_vaccinations(case), start=1)
    ]


def _immunization(
    case: Case, number: int, code: str, when: date | datetime, rng: random.Random
) -> Json:
    resource: Json = {
        "resourceType": "Immunization",
        "id": f"{case.patient_id}-imm-{number:02d}",
        "meta": profile("us-core-immunization"),
        "status": "completed",
        "vaccineCode": concept(CVX, code, VACCINES[code]),
        "patient": ref("Patient", case.patient_id),
        "occurrenceDateTime": local(when) if isinstance(when, datetime) else day(when),
        "primarySource": isinstance(when, datetime),
    }
    if not isinstance(when, datetime):
        resource["reportOrigin"] = hl7("immunization-origin", "record", "Written Record")
        return resource
    if on_cytotoxic_treatment(case, when.date()):
        # Deferred: vaccines are postponed while chemotherapy suppresses the marrow.
        resource["status"] = "not-done"
        resource["statusReason"] = hl7("v3-ActReason", "MEDPREC", "medical precaution")
        return resource
    resource["lotNumber"] = f"DEMO{rng.randint(10000, 99999)}"
    resource["performer"] = [
        {
            "function": hl7("v2-0443", "AP", "Administering Provider"),
            "actor": ref("Practitioner", NURSE),
        }
    ]
    resource["location"] = ref("Location", ONCOLOGY_CLINIC)
    return resource


# visit kind -> (LOINC document type, display)
_NOTE_TYPES = {
    "biopsy": ("28570-0", "Procedure note"),
    "consult": ("11488-4", "Consult note"),
    "radiation-consult": ("11488-4", "Consult note"),
    "surgery": ("18842-5", "Discharge summary"),
    "follow-up": ("11506-3", "Progress note"),
}


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def note_text(case: Case, visit: Visit) -> str:
    person, cancer = case.person, case.cancer
    author = CLINICIAN_BY_ID[visit.clinician].display
    age = _age_on(case, visit.start.date())
    heading = f"{_NOTE_TYPES[visit.kind][1]} - {person.given[0]} {person.family}, age {age}"
    body = {
        "biopsy": f"Diagnostic biopsy, site: {cancer.body_site[1]}. Specimen sent to "
        "pathology. No complications.",
        "consult": f"New diagnosis: {cancer.histology}. {cancer.stage_text}. Plan: "
        + (", ".join(DRUGS[drug].display for drug in case.regimen) or "radiotherapy alone")
        + ".",
        "radiation-consult": "Radiotherapy recommended. " + radiotherapy_note(case)
        if case.radiotherapy
        else "",
        "surgery": "Uneventful recovery after surgery. Discharged home on day 3.",
        "follow-up": "Seen for surveillance. "
        + ("No clinical evidence of disease." if case.in_remission else
           "Disease under treatment; symptoms reviewed and plan continued."),
    }[visit.kind]  # fmt: skip
    return f"{heading}\n\n{body}\n\nSigned: {author}\n"


def document_references(case: Case, visits: list[Visit]) -> list[Json]:
    return [_document(case, visit) for visit in visits if visit.kind in _NOTE_TYPES]


def _document(case: Case, visit: Visit) -> Json:
    loinc_code, display = _NOTE_TYPES[visit.kind]
    period = {"start": local(visit.start), "end": local(visit.end)}
    return {
        "resourceType": "DocumentReference",
        "id": f"{visit.id}-note",
        "meta": profile("us-core-documentreference"),
        "identifier": [{"system": DOCUMENT_SYSTEM, "value": f"{visit.id}-note".upper()}],
        "status": "current",
        "docStatus": "final",
        "type": concept(LOINC, loinc_code, display),
        "category": [
            {
                "coding": [
                    coding(
                        US_CORE_CODES + "us-core-documentreference-category",
                        "clinical-note",
                        "Clinical Note",
                    )
                ]
            }
        ],  # fmt: skip
        "subject": ref("Patient", case.patient_id),
        "date": utc(visit.end + timedelta(minutes=30)),
        "author": [ref("Practitioner", visit.clinician)],
        "custodian": ref("Organization", CANCER_INSTITUTE),
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "language": "en-US",
                    "data": _encoded(note_text(case, visit)),
                    "title": display,
                    "creation": local(visit.end),
                },
                "format": coding(
                    "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
                    "urn:ihe:iti:xds:2017:mimeTypeSufficient",
                    "mimeType Sufficient",
                ),
            }
        ],  # fmt: skip
        "context": {"encounter": [ref("Encounter", visit.id)], "period": period},
    }


def pathology_report(case: Case, biopsy: Visit) -> Json:
    """US Core DiagnosticReport for Report and Note exchange, category Pathology."""
    cancer = case.cancer
    collected = biopsy.start + timedelta(minutes=45)
    text = (
        f"Surgical pathology report\n\nSpecimen: {cancer.body_site[1]}, biopsy.\n"
        f"Diagnosis: {cancer.histology}.\n"
    )
    return {
        "resourceType": "DiagnosticReport",
        "id": f"{case.patient_id}-pathology",
        "meta": profile("us-core-diagnosticreport-note"),
        "status": "final",
        "category": [concept(LOINC, "LP7839-6", "Pathology")],
        "code": concept(LOINC, "11526-1", "Pathology study"),
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", biopsy.id),
        "effectiveDateTime": local(collected),
        "issued": utc(collected + timedelta(days=2, hours=5)),
        "performer": [ref("Organization", REFERENCE_LAB)],
        "conclusion": cancer.histology,
        "conclusionCode": [concept(SNOMED, *cancer.snomed)],
        "presentedForm": [
            {"contentType": "text/plain", "data": _encoded(text), "title": "Pathology report"}
        ],
    }
