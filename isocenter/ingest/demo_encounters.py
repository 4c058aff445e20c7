"""The visits of each demo case and their US Core Encounters.

A case's timeline is fixed by its case-table offsets: diagnostic biopsy, medical oncology
consultation, radiation oncology consultation, surgery admission, chemotherapy and weekly
on-treatment visits, then three-monthly follow-up until the anchor day or death. Only the
minutes of arrival come from the case's seeded random generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from isocenter.ingest.demo_cases import Case
from isocenter.ingest.demo_catalog import HORMONAL, NON_CYTOTOXIC, ORAL
from isocenter.ingest.demo_directory import (
    CANCER_INSTITUTE,
    COMMUNITY_HOSPITAL,
    HOSPITAL_WARD,
    ONCOLOGY_CLINIC,
    RADIATION_ONCOLOGY,
)
from isocenter.ingest.demo_terms import (
    CPT,
    ENCOUNTER_SYSTEM,
    SNOMED,
    Json,
    coding,
    concept,
    hl7,
    profile,
    ref,
)
from isocenter.ingest.demo_time import ANCHOR, at, local, weekday_on_or_after

SURGEON = "demo-pr-surgonc-1"
NURSE = "demo-pr-nurse-1"
FOLLOW_UP_DAYS = 91


@dataclass(frozen=True)
class Visit:
    id: str
    kind: str  # a key of _TYPES: biopsy, consult, surgery, follow-up...
    start: datetime
    end: datetime
    clinician: str
    location: str
    organization: str

    @property
    def inpatient(self) -> bool:
        return self.kind == "surgery"


# kind -> (CPT code, display) of the visit's Encounter.type. The displays are our own
# short summaries: the AMA's CPT descriptors are licensed text.
_TYPES = {
    "biopsy": ("99203", "New patient office visit, low complexity"),
    "consult": ("99205", "New patient office visit, high complexity"),
    "radiation-consult": ("99205", "New patient office visit, high complexity"),
    "surgery": ("99223", "Initial hospital inpatient care, high complexity"),
    "systemic-therapy": ("96413", "Chemotherapy administration, IV infusion, first hour"),
    "radiotherapy": ("77427", "Radiation treatment management, 5 treatments"),
    "follow-up": ("99214", "Established patient office visit, moderate complexity"),
}
_HORMONAL_TYPE = ("96402", "Chemotherapy administration, IM or SC, hormonal anti-neoplastic")
_ORAL_ONLY_TYPE = _TYPES["follow-up"]


def _visit_type(case: Case, visit: Visit) -> tuple[str, str]:
    """CPT of the visit; a systemic therapy visit is billed by how the drugs are given."""
    if visit.kind != "systemic-therapy":
        return _TYPES[visit.kind]
    if set(case.regimen) <= HORMONAL:
        return _HORMONAL_TYPE
    if set(case.regimen) <= ORAL:
        return _ORAL_ONLY_TYPE
    return _TYPES[visit.kind]


def treatment_end(case: Case) -> date:
    """The day the last planned treatment of the case ends."""
    ends = [case.cancer.diagnosed + timedelta(days=30)]
    if case.regimen:
        ends.append(regimen_start(case) + timedelta(weeks=case.regimen_weeks))
    if case.radiotherapy:
        ends.append(radiotherapy_days(case)[-1])
    if case.surgery:
        ends.append(case.cancer.diagnosed + timedelta(days=case.surgery.day + 3))
    return min(max(ends), last_day(case))


def last_day(case: Case) -> date:
    """The last day the record may hold: shortly before death, or before the anchor."""
    return (case.deceased or ANCHOR) - timedelta(days=7)


def regimen_start(case: Case) -> date:
    return weekday_on_or_after(case.cancer.diagnosed + timedelta(days=case.regimen_day))


def on_cytotoxic_treatment(case: Case, moment: date) -> bool:
    """Whether a cytotoxic drug of the case's regimen is being given on that day."""
    if not set(case.regimen) - NON_CYTOTOXIC:
        return False
    start = regimen_start(case)
    return start <= moment <= start + timedelta(weeks=case.regimen_weeks)


def radiotherapy_days(case: Case) -> list[date]:
    """Treatment days of the course: one fraction each weekday from the start day."""
    assert case.radiotherapy is not None
    moment = weekday_on_or_after(
        case.cancer.diagnosed + timedelta(days=case.radiotherapy.start_day)
    )
    days: list[date] = []
    while len(days) < case.radiotherapy.fractions:
        if moment.weekday() < 5:
            days.append(moment)
        moment += timedelta(days=1)
    return days


class _Timeline:
    def __init__(self, case: Case, rng: random.Random) -> None:
        self.case = case
        self.rng = rng
        self.visits: list[Visit] = []

    def add(self, kind: str, when: date, clinician: str, location: str, hours: int = 1) -> None:
        if when > last_day(self.case):
            return
        start = at(
            weekday_on_or_after(when), self.rng.randint(7, 15), self.rng.choice((0, 15, 30, 45))
        )
        end = start + (
            timedelta(days=hours // 24, hours=2) if hours >= 24 else timedelta(hours=hours)
        )
        organization = COMMUNITY_HOSPITAL if location == HOSPITAL_WARD else CANCER_INSTITUTE
        # Ids are given once all visits are known and sorted (see visits()).
        self.visits.append(Visit("", kind, start, end, clinician, location, organization))


def visits(case: Case, rng: random.Random) -> list[Visit]:
    """The case's visits in time order; ids number them from 01."""
    timeline = _Timeline(case, rng)
    diagnosed = case.cancer.diagnosed
    timeline.add("biopsy", diagnosed, SURGEON, HOSPITAL_WARD, hours=3)
    timeline.add(
        "consult", diagnosed + timedelta(days=9), case.medical_oncologist, ONCOLOGY_CLINIC
    )
    if case.radiotherapy and case.radiation_oncologist:
        consult_day = radiotherapy_days(case)[0] - timedelta(days=12)
        timeline.add(
            "radiation-consult", consult_day, case.radiation_oncologist, RADIATION_ONCOLOGY
        )
    if case.surgery:
        timeline.add(
            "surgery",
            diagnosed + timedelta(days=case.surgery.day),
            SURGEON,
            HOSPITAL_WARD,
            hours=72,
        )
    _treatment_visits(timeline)
    _follow_up_visits(timeline)
    timeline.visits.sort(key=lambda visit: visit.start)
    return [
        Visit(f"{case.patient_id}-enc-{n:02d}", v.kind, v.start, v.end, v.clinician, v.location,
              v.organization)
        for n, v in enumerate(timeline.visits, start=1)
    ]  # fmt: skip


def _treatment_visits(timeline: _Timeline) -> None:
    case = timeline.case
    if case.regimen:
        start = regimen_start(case)
        for week in range(0, case.regimen_weeks, 3):
            when = start + timedelta(weeks=week)
            timeline.add("systemic-therapy", when, case.medical_oncologist, ONCOLOGY_CLINIC, 2)
    if case.radiotherapy and case.radiation_oncologist:
        for treatment_day in radiotherapy_days(case)[::5]:
            timeline.add("radiotherapy", treatment_day, case.radiation_oncologist,
                         RADIATION_ONCOLOGY)  # fmt: skip


def _follow_up_visits(timeline: _Timeline) -> None:
    case = timeline.case
    when = treatment_end(case) + timedelta(days=30)
    clinicians = [case.medical_oncologist, case.radiation_oncologist or case.medical_oncologist]
    while when <= last_day(case):
        clinician = clinicians[len(timeline.visits) % 2]
        location = (
            ONCOLOGY_CLINIC if clinician == case.medical_oncologist else RADIATION_ONCOLOGY
        )
        timeline.add("follow-up", when, clinician, location)
        when += timedelta(days=FOLLOW_UP_DAYS)


def encounter(case: Case, visit: Visit, condition_id: str) -> Json:
    cpt_code, cpt_display = _visit_type(case, visit)
    period = {"start": local(visit.start), "end": local(visit.end)}
    resource: Json = {
        "resourceType": "Encounter",
        "id": visit.id,
        "meta": profile("us-core-encounter"),
        "identifier": [{"system": ENCOUNTER_SYSTEM, "value": visit.id.upper()}],
        "status": "finished",
        "class": coding(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            *(("IMP", "inpatient encounter") if visit.inpatient else ("AMB", "ambulatory")),
        ),
        "type": [{"coding": [coding(CPT, cpt_code, cpt_display)], "text": _label(visit)}],
        "subject": ref("Patient", case.patient_id),
        "participant": [
            {
                "type": [hl7("v3-ParticipationType", "ATND", "attender")],
                "period": period,
                "individual": ref("Practitioner", visit.clinician),
            }
        ],
        "period": period,
        "reasonCode": [concept(SNOMED, *case.cancer.snomed)],
        "reasonReference": [ref("Condition", condition_id)],
        "location": [{"location": ref("Location", visit.location), "status": "completed"}],
        "serviceProvider": ref("Organization", visit.organization),
    }
    if visit.kind in ("systemic-therapy", "radiotherapy"):
        resource["participant"].append(
            {
                "type": [hl7("v3-ParticipationType", "PART", "Participation")],
                "individual": ref("Practitioner", NURSE),
            }
        )
    if visit.inpatient:
        resource["hospitalization"] = {
            "dischargeDisposition": hl7("discharge-disposition", "home", "Home")
        }
    return resource


def _label(visit: Visit) -> str:
    return {
        "biopsy": "Diagnostic biopsy visit",
        "consult": "Medical oncology consultation",
        "radiation-consult": "Radiation oncology consultation",
        "surgery": "Surgical admission",
        "systemic-therapy": "Systemic therapy visit",
        "radiotherapy": "Radiotherapy on-treatment visit",
        "follow-up": "Oncology follow-up visit",
    }[visit.kind]
