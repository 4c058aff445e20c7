"""The cancer itself and its treatment: Conditions, staging Observations, Procedures,
MedicationRequests, and the CarePlan, CareTeam and Goal that organise the care.

Staging Observations use the LOINC TNM and stage group codes with AJCC values
(system http://cancerstaging.org), the way mCODE's TNM profiles do; the primary cancer
Condition points at the stage group through ``stage.assessment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from isocenter.ingest.demo_cases import Case, Stage
from isocenter.ingest.demo_catalog import COMORBIDITIES, DRUGS, HORMONAL, IMMUNE, LONG_TERM
from isocenter.ingest.demo_directory import CANCER_INSTITUTE, CLINICIAN_BY_ID, HOSPITAL_WARD
from isocenter.ingest.demo_encounters import (
    NURSE,
    SURGEON,
    Visit,
    last_day,
    radiotherapy_days,
    regimen_start,
    treatment_end,
)
from isocenter.ingest.demo_terms import (
    AJCC,
    ICD10CM,
    LOINC,
    NUCC,
    RXNORM,
    SNOMED,
    US_CORE_CODES,
    Json,
    coding,
    concept,
    hl7,
    narrative,
    profile,
    ref,
)
from isocenter.ingest.demo_time import at, day, local


def cancer_id(case: Case) -> str:
    return f"{case.patient_id}-cancer"


def _first(visits: list[Visit], *kinds: str) -> Visit:
    return next(visit for visit in visits if visit.kind in kinds)


def primary_cancer(case: Case, visits: list[Visit]) -> Json:
    cancer = case.cancer
    consult = _first(visits, "consult")
    status = ("remission", "Remission") if case.in_remission else ("active", "Active")
    summary: Json = {"text": cancer.stage_text}
    stage: Json = {"summary": summary}
    if cancer.stage is not None:
        summary["coding"] = [coding(AJCC, cancer.stage.group, f"Stage {cancer.stage.group}")]
        stage["assessment"] = [ref("Observation", f"{consult.id}-stage-group")]
    return {
        "resourceType": "Condition",
        "id": cancer_id(case),
        "meta": profile("us-core-condition"),
        "clinicalStatus": hl7("condition-clinical", *status),
        "verificationStatus": hl7("condition-ver-status", "confirmed", "Confirmed"),
        "category": [hl7("condition-category", "problem-list-item", "Problem List Item")],
        "severity": concept(SNOMED, "24484000", "Severe"),
        "code": {
            "coding": [coding(SNOMED, *cancer.snomed), coding(ICD10CM, *cancer.icd10)],
            "text": cancer.histology,
        },
        "bodySite": [concept(SNOMED, *cancer.body_site)],
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", consult.id),
        "onsetDateTime": day(cancer.diagnosed),
        "recordedDate": local(consult.start),
        "recorder": ref("Practitioner", case.medical_oncologist),
        "asserter": ref("Practitioner", case.medical_oncologist),
        "stage": [stage],
    }


def comorbidities(case: Case, visits: list[Visit]) -> list[Json]:
    consult = _first(visits, "consult")
    resources = []
    for key in case.comorbidities:
        problem = COMORBIDITIES[key]
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"{case.patient_id}-{key}",
                "meta": profile("us-core-condition"),
                "clinicalStatus": hl7("condition-clinical", "active", "Active"),
                "verificationStatus": hl7("condition-ver-status", "confirmed", "Confirmed"),
                "category": [
                    hl7("condition-category", "encounter-diagnosis", "Encounter Diagnosis")
                ],
                "code": {
                    "coding": [
                        coding(SNOMED, *problem.snomed),
                        coding(ICD10CM, *problem.icd10),
                    ],
                    "text": problem.snomed[1],
                },
                "subject": ref("Patient", case.patient_id),
                "encounter": ref("Encounter", consult.id),
                # Known for years before the cancer: a year-only onset.
                "onsetDateTime": str(case.cancer.diagnosed.year - 4),
                "recordedDate": local(consult.start),
            }
        )
    return resources


# (T, N, M, group) LOINC codes, clinical then pathological.
_TNM_CODES = {
    "c": (("21905-5", "Primary tumor.clinical [Class] Cancer"),
          ("21906-3", "Regional lymph nodes.clinical [Class] Cancer"),
          ("21907-1", "Distant metastases.clinical [Class] Cancer"),
          ("21908-9", "Stage group.clinical Cancer")),
    "p": (("21899-0", "Primary tumor.pathology Cancer"),
          ("21900-6", "Regional lymph nodes.pathology Cancer"),
          ("21901-4", "Distant metastases.pathology Cancer"),
          ("21902-2", "Stage group.pathology Cancer")),
}  # fmt: skip


def staging(case: Case, visits: list[Visit]) -> list[Json]:
    """T, N and M category Observations and the stage group that has them as members."""
    stage = case.cancer.stage
    if stage is None:
        return []
    consult = _first(visits, "consult")
    t_code, n_code, m_code, group_code = _TNM_CODES[stage.prefix]
    # AJCC 8th edition has no pM0: distant metastasis stays clinical in pathological staging.
    values = (f"{stage.prefix}{stage.t}", f"{stage.prefix}{stage.n}", f"c{stage.m}")
    members = [
        _stage_observation(case, consult, slug, loinc, concept(AJCC, value, value))
        for slug, loinc, value in zip(("stage-t", "stage-n", "stage-m"),
                                      (t_code, n_code, m_code), values, strict=True)
    ]  # fmt: skip
    group = _stage_observation(case, consult, "stage-group", group_code, _group_value(stage))
    group["hasMember"] = [ref("Observation", member["id"]) for member in members]
    return [*members, group]


def _group_value(stage: Stage) -> Json:
    return concept(AJCC, stage.group, f"Stage {stage.group}")


def _stage_observation(
    case: Case, visit: Visit, slug: str, loinc: tuple[str, str], value: Json
) -> Json:
    return {
        "resourceType": "Observation",
        "id": f"{visit.id}-{slug}",
        "status": "final",
        "category": [hl7("observation-category", "exam", "Exam")],
        "code": concept(LOINC, *loinc),
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", visit.id),
        "focus": [ref("Condition", cancer_id(case))],
        "effectiveDateTime": local(visit.start + timedelta(minutes=40)),
        "performer": [ref("Practitioner", visit.clinician)],
        "valueCodeableConcept": value,
    }  # fmt: skip


def _procedure(case: Case, slug: str, code: tuple[str, str], performer: str) -> Json:
    return {
        "resourceType": "Procedure",
        "id": f"{case.patient_id}-{slug}",
        "meta": profile("us-core-procedure"),
        "status": "completed",
        "code": concept(SNOMED, *code),
        "subject": ref("Patient", case.patient_id),
        "performer": [
            {
                "actor": ref("Practitioner", performer),
                "onBehalfOf": ref("Organization", CLINICIAN_BY_ID[performer].organization),
            }
        ],
        "reasonReference": [ref("Condition", cancer_id(case))],
        "bodySite": [concept(SNOMED, *case.cancer.body_site)],
    }


def procedures(case: Case, visits: list[Visit]) -> list[Json]:
    biopsy_visit = _first(visits, "biopsy")
    biopsy = _procedure(case, "biopsy", ("86273004", "Biopsy"), SURGEON)
    biopsy["encounter"] = ref("Encounter", biopsy_visit.id)
    biopsy["performedDateTime"] = local(biopsy_visit.start + timedelta(minutes=45))
    biopsy["location"] = ref("Location", HOSPITAL_WARD)
    resources = [biopsy]
    if case.surgery:
        resources.append(_surgery(case, visits))
    if case.radiotherapy and case.radiation_oncologist:
        resources.append(_radiotherapy(case, visits))
    if case.regimen:
        resources.append(_chemotherapy(case, visits))
    return resources


def _surgery(case: Case, visits: list[Visit]) -> Json:
    assert case.surgery is not None
    admission = _first(visits, "surgery")
    start = admission.start + timedelta(hours=2)
    surgery = _procedure(case, "surgery", case.surgery.code, SURGEON)
    surgery["encounter"] = ref("Encounter", admission.id)
    surgery["performedPeriod"] = {
        "start": local(start),
        "end": local(start + timedelta(hours=2)),
    }
    surgery["location"] = ref("Location", HOSPITAL_WARD)
    return surgery


def radiotherapy_note(case: Case) -> str:
    course = case.radiotherapy
    assert course is not None
    per_fraction = course.dose_gy / course.fractions
    note = (
        f"{course.target}: {course.technique}. Total dose {course.dose_gy:g} Gy in "
        f"{course.fractions} fractions ({per_fraction:.2f} Gy per fraction)"
    )
    return f"{note}, {course.remark}." if course.remark else f"{note}."


def _radiotherapy(case: Case, visits: list[Visit]) -> Json:
    """The external beam course as one Procedure over its treatment days."""
    assert case.radiotherapy is not None and case.radiation_oncologist is not None
    days = radiotherapy_days(case)
    course = _procedure(case, "radiotherapy", ("33195004", "Teleradiotherapy procedure"),
                        case.radiation_oncologist)  # fmt: skip
    course["bodySite"] = [concept(SNOMED, *case.radiotherapy.body_site)]
    course["encounter"] = ref("Encounter", _first(visits, "radiotherapy").id)
    course["performedPeriod"] = {
        "start": local(at(days[0], 8, 10)),
        "end": local(at(days[-1], 8, 25)),
    }
    course["location"] = ref("Location", "demo-loc-radiation-oncology")
    course["note"] = [{"text": radiotherapy_note(case)}]
    return course


def systemic_therapy_code(case: Case) -> tuple[str, str]:
    """SNOMED CT procedure for the case's regimen: hormone, immune or chemotherapy."""
    if set(case.regimen) <= HORMONAL:
        return ("169413002", "Hormone therapy")
    if set(case.regimen) <= IMMUNE:
        return ("76334006", "Immunotherapy")
    return ("367336001", "Chemotherapy")


def _chemotherapy(case: Case, visits: list[Visit]) -> Json:
    start = regimen_start(case)
    end = min(start + timedelta(weeks=case.regimen_weeks), last_day(case))
    course = _procedure(case, "systemic-therapy", systemic_therapy_code(case),
                        case.medical_oncologist)  # fmt: skip
    course["encounter"] = ref("Encounter", _first(visits, "systemic-therapy").id)
    course["performedPeriod"] = {"start": day(start), "end": day(end)}
    course["note"] = [{"text": "Regimen: " + ", ".join(case.regimen) + "."}]
    return course


@dataclass(frozen=True)
class _Order:
    drug: str
    start: date
    end: date | None


def _orders(case: Case) -> list[_Order]:
    """Regimen drugs over the regimen; supportive drugs over the whole treatment.

    Long-term drugs, and every supportive drug of a patient who died under treatment,
    have no end: their orders stay active, or are stopped at death.
    """
    start = regimen_start(case)
    orders = [
        _Order(drug, start, start + timedelta(weeks=case.regimen_weeks))
        for drug in case.regimen
    ]
    if case.radiotherapy and not case.regimen:
        start = radiotherapy_days(case)[0]
    for drug in case.supportive:
        ongoing = drug in LONG_TERM or case.deceased is not None
        orders.append(_Order(drug, start, None if ongoing else treatment_end(case)))
    return orders


def medication_requests(case: Case, visits: list[Visit]) -> list[Json]:
    ordering_visit = next(
        (visit for visit in visits if visit.kind == "systemic-therapy"),
        _first(visits, "consult"),
    )
    return [_medication_request(case, order, ordering_visit) for order in _orders(case)]


def _medication_status(case: Case, order: _Order) -> str:
    if order.end is not None and order.end <= last_day(case):
        return "completed"
    return "stopped" if case.deceased else "active"


def _medication_request(case: Case, order: _Order, visit: Visit) -> Json:
    drug = DRUGS[order.drug]
    bounds: Json = {"start": day(order.start)}
    if order.end is not None:
        bounds["end"] = day(order.end)
    return {
        "resourceType": "MedicationRequest",
        "id": f"{case.patient_id}-rx-{order.drug}",
        "meta": profile("us-core-medicationrequest"),
        "status": _medication_status(case, order),
        "intent": "order",
        "category": [hl7("medicationrequest-category", "outpatient", "Outpatient")],
        "reportedBoolean": False,
        "medicationCodeableConcept": concept(RXNORM, drug.rxnorm, drug.display),
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", visit.id),
        "authoredOn": local(visit.start + timedelta(minutes=50)),
        "requester": ref("Practitioner", case.medical_oncologist),
        "reasonReference": [ref("Condition", cancer_id(case))],
        "dosageInstruction": [
            {"text": drug.dosage, "timing": {"repeat": {"boundsPeriod": bounds}}}
        ],
    }


def _finished(case: Case) -> bool:
    return treatment_end(case) <= last_day(case) and (case.in_remission or bool(case.deceased))


def care_team(case: Case, visits: list[Visit]) -> Json:
    members = [case.medical_oncologist, NURSE]
    if case.radiation_oncologist:
        members.insert(1, case.radiation_oncologist)
    if case.surgery or any(visit.kind == "biopsy" for visit in visits):
        members.append(SURGEON)
    participants = [
        {
            "role": [concept(NUCC, *CLINICIAN_BY_ID[member].specialty)],
            "member": ref("Practitioner", member, CLINICIAN_BY_ID[member].display),
            "onBehalfOf": ref("Organization", CLINICIAN_BY_ID[member].organization),
        }
        for member in members
    ]
    participants.append(
        {"role": [concept(SNOMED, "116154003", "Patient")],
         "member": ref("Patient", case.patient_id)}
    )  # fmt: skip
    period: Json = {"start": day(case.cancer.diagnosed)}
    if case.deceased:
        period["end"] = day(case.deceased)
    return {
        "resourceType": "CareTeam",
        "id": f"{case.patient_id}-careteam",
        "meta": profile("us-core-careteam"),
        "status": "inactive" if case.deceased else "active",
        "name": f"Oncology care team for {case.person.given[0]} {case.person.family}",
        "subject": ref("Patient", case.patient_id),
        "period": period,
        "participant": participants,
        "managingOrganization": [ref("Organization", CANCER_INSTITUTE)],
    }


def goal(case: Case, visits: list[Visit]) -> Json:
    consult = _first(visits, "consult")
    status = "cancelled" if case.deceased else ("completed" if _finished(case) else "active")
    resource: Json = {
        "resourceType": "Goal",
        "id": f"{case.patient_id}-goal",
        "meta": profile("us-core-goal"),
        "lifecycleStatus": status,
        "description": {"text": case.goal},
        "subject": ref("Patient", case.patient_id),
        "startDate": day(consult.start.date()),
        "target": [{"dueDate": day(treatment_end(case) + timedelta(days=365))}],
        "expressedBy": ref("Practitioner", case.medical_oncologist),
        "addresses": [ref("Condition", cancer_id(case))],
    }
    if status == "completed":
        resource["achievementStatus"] = hl7("goal-achievement", "achieved", "Achieved")
    return resource


def _activities(case: Case) -> list[tuple[str, str, str]]:
    activities: list[tuple[str, str, str]] = []
    if case.regimen:
        names = ", ".join(DRUGS[drug].display for drug in case.regimen)
        activities.append((*systemic_therapy_code(case), f"Systemic therapy: {names}"))
    if case.surgery:
        activities.append((*case.surgery.code, f"Surgery: {case.surgery.code[1]}"))
    if case.radiotherapy:
        activities.append(("33195004", "Teleradiotherapy procedure", radiotherapy_note(case)))
    return activities


def care_plan(case: Case, visits: list[Visit]) -> Json:
    consult = _first(visits, "consult")
    finished = _finished(case)
    activities = _activities(case)
    status = "completed" if finished else "active"
    items = "".join(f"<li>{description}</li>" for _, _, description in activities)
    period: Json = {"start": day(consult.start.date())}
    if finished:
        period["end"] = day(treatment_end(case))
    return {
        "resourceType": "CarePlan",
        "id": f"{case.patient_id}-careplan",
        "meta": profile("us-core-careplan"),
        "text": narrative(
            "generated",
            f"<p>Treatment plan for {case.cancer.snomed[1].lower()} "
            f"({case.cancer.stage_text}), status {status}.</p><ul>{items}</ul>",
        ),
        "status": status,
        "intent": "plan",
        "category": [
            {
                "coding": [
                    coding(
                        US_CORE_CODES + "careplan-category",
                        "assess-plan",
                        "Assessment and Plan of Treatment",
                    )
                ]
            }
        ],  # fmt: skip
        "title": f"Oncology treatment plan: {case.cancer.snomed[1]}",
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", consult.id),
        "period": period,
        "author": ref("Practitioner", case.medical_oncologist),
        "careTeam": [ref("CareTeam", f"{case.patient_id}-careteam")],
        "addresses": [ref("Condition", cancer_id(case))],
        "goal": [ref("Goal", f"{case.patient_id}-goal")],
        "activity": [
            {
                "detail": {
                    "code": concept(SNOMED, code, display),
                    "status": "completed" if finished else "in-progress",
                    "description": description,
                }
            }
            for code, display, description in activities
        ],
    }
