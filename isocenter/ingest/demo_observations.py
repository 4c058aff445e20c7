"""Observations of the demo cohort: vital signs, laboratory panels, tumor markers, smoking
status and ECOG performance status, plus the LAB DiagnosticReports that group the panels.

Vital signs follow the FHIR R4 vital signs profiles (http://hl7.org/fhir/R4/observation-vitalsigns.html),
laboratory results US Core Laboratory Result Observation and DiagnosticReport for Laboratory
Results Reporting. Values are drawn from the case's seeded generator around adult reference
ranges; interpretation flags are computed from the reference range given.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from isocenter.ingest.demo_cases import Case
from isocenter.ingest.demo_directory import REFERENCE_LAB
from isocenter.ingest.demo_encounters import NURSE, Visit
from isocenter.ingest.demo_terms import (
    FHIR_PROFILE,
    LOINC,
    SNOMED,
    US_CORE,
    Json,
    concept,
    hl7,
    quantity,
    ref,
)
from isocenter.ingest.demo_time import local, utc

VITAL_SIGNS = hl7("observation-category", "vital-signs", "Vital Signs")
LABORATORY = hl7("observation-category", "laboratory", "Laboratory")
SOCIAL_HISTORY = hl7("observation-category", "social-history", "Social History")
SURVEY = hl7("observation-category", "survey", "Survey")


@dataclass(frozen=True)
class Analyte:
    loinc: str
    display: str
    unit: str  # UCUM
    low: float
    high: float
    decimals: int
    slug: str


CBC = ("58410-2", "CBC panel - Blood by Automated count")
CBC_ANALYTES = (
    Analyte("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL",
            4.0, 11.0, 1, "wbc"),
    Analyte("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 16.5, 1, "hgb"),
    Analyte("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%",
            36.0, 49.0, 1, "hct"),
    Analyte("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL",
            150.0, 400.0, 0, "plt"),
    Analyte("751-8", "Neutrophils [#/volume] in Blood by Automated count", "10*3/uL",
            1.8, 7.7, 2, "anc"),
)  # fmt: skip
CMP = ("24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma")
CMP_ANALYTES = (
    Analyte("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 0, "glu"),
    Analyte("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 7, 20, 0,
            "bun"),
    Analyte("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.3, 2,
            "cre"),
    Analyte("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 136, 145, 0, "na"),
    Analyte("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1, 1,
            "k"),
    Analyte("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 98, 107, 0, "cl"),
    Analyte("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L",
            22, 29, 0, "co2"),
    Analyte("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.3, 1,
            "ca"),
    Analyte("2885-2", "Protein [Mass/volume] in Serum or Plasma", "g/dL", 6.0, 8.3, 1, "tp"),
    Analyte("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.5, 5.0, 1, "alb"),
    Analyte("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL", 0.1, 1.2, 1,
            "tbil"),
    Analyte("6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma",
            "U/L", 44, 147, 0, "alp"),
    Analyte("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or "
            "Plasma", "U/L", 7, 56, 0, "alt"),
    Analyte("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or "
            "Plasma", "U/L", 10, 40, 0, "ast"),
)  # fmt: skip

MARKERS = {
    "2857-1": Analyte("2857-1", "Prostate specific Ag [Mass/volume] in Serum or Plasma",
                      "ng/mL", 0.0, 4.0, 2, "psa"),
    "2039-6": Analyte("2039-6", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma",
                      "ng/mL", 0.0, 3.0, 1, "cea"),
    "24108-3": Analyte("24108-3", "Cancer Ag 19-9 [Units/volume] in Serum or Plasma", "U/mL",
                       0.0, 37.0, 0, "ca19-9"),
}  # fmt: skip

# Share of chemistry panels whose potassium is lost to a hemolysed specimen.
_HEMOLYSIS_RATE = 0.05

# Blood counts fall during cytotoxic treatment: factor applied to the healthy draw.
_MYELOSUPPRESSION = {"wbc": 0.6, "anc": 0.5, "plt": 0.7, "hgb": 0.85, "hct": 0.85}

ECOG_ANSWERS = (
    ("LA9622-7", "Fully active, able to carry on all pre-disease performance without "
     "restriction"),
    ("LA9623-5", "Restricted in physically strenuous activity but ambulatory and able to "
     "carry out work of a light or sedentary nature, e.g., light house work, office work"),
    ("LA9624-3", "Ambulatory and capable of all selfcare but unable to carry out any work "
     "activities. Up and about more than 50% of waking hours"),
    ("LA9625-0", "Capable of only limited selfcare, confined to bed or chair more than 50% of "
     "waking hours"),
    ("LA9626-8", "Completely disabled. Cannot carry on any selfcare. Totally confined to bed "
     "or chair"),
)  # fmt: skip


def _observation(
    case: Case,
    visit: Visit,
    slug: str,
    category: Json,
    code: Json,
    taken: datetime,
    profile_url: str | None = None,
) -> Json:
    resource: Json = {"resourceType": "Observation", "id": f"{visit.id}-{slug}"}
    if profile_url:
        resource["meta"] = {"profile": [profile_url]}
    return resource | {
        "status": "final",
        "category": [category],
        "code": code,
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", visit.id),
        "effectiveDateTime": local(taken),
    }


def _vital(
    case: Case,
    visit: Visit,
    name: str,
    loinc: tuple[str, str],
    value: Json | None,
    profile_url: str | None = None,
) -> Json:
    """A vital sign; ``name`` is also the id of its FHIR R4 vital signs profile."""
    taken = visit.start + timedelta(minutes=10)
    code = concept(LOINC, *loinc)
    profile_url = profile_url or FHIR_PROFILE + name
    resource = _observation(case, visit, name, VITAL_SIGNS, code, taken, profile_url)
    resource["performer"] = [ref("Practitioner", NURSE)]
    if value is not None:
        resource["valueQuantity"] = value
    return resource


@dataclass
class Body:
    """A patient's size at a visit; weight drifts through treatment."""

    height_cm: float
    weight_kg: float
    child: bool


def vital_signs(
    case: Case, visit: Visit, rng: random.Random, body: Body, oxygen: bool
) -> list[Json]:
    """The visit's vital signs; ``oxygen`` if the patient breathes supplemental oxygen."""
    child = body.child
    resources = [
        _blood_pressure(case, visit, rng, child),
        _vital(case, visit, "heartrate", ("8867-4", "Heart rate"),
               quantity(round(rng.gauss(92 if child else 76, 7)), "beats/minute", "/min")),
        _vital(case, visit, "resprate", ("9279-1", "Respiratory rate"),
               quantity(round(rng.gauss(20 if child else 15, 1.5)), "breaths/minute", "/min")),
        _vital(case, visit, "bodytemp", ("8310-5", "Body temperature"),
               quantity(round(rng.gauss(36.8, 0.2), 1), "C", "Cel")),
        _vital(case, visit, "bodyweight", ("29463-7", "Body weight"),
               quantity(round(body.weight_kg, 1), "kg")),
        _vital(case, visit, "bmi", ("39156-5", "Body mass index (BMI) [Ratio]"),
               quantity(round(body.weight_kg / (body.height_cm / 100) ** 2, 1), "kg/m2")),
        _pulse_oximetry(case, visit, rng, oxygen),
    ]  # fmt: skip
    if visit.kind in ("consult", "biopsy") or child:
        height = quantity(round(body.height_cm, 1), "cm")
        resources.append(_vital(case, visit, "bodyheight", ("8302-2", "Body height"), height))
    if child:
        resources.append(_bmi_percentile(case, visit, rng))
    return resources


def _blood_pressure(case: Case, visit: Visit, rng: random.Random, child: bool) -> Json:
    """Blood pressure: a panel code with systolic and diastolic as components."""
    systolic = round(rng.gauss(104 if child else 128, 8))
    diastolic = round(rng.gauss(64 if child else 79, 6))
    panel = ("85354-9", "Blood pressure panel with all children optional")
    resource = _vital(case, visit, "bp", panel, None)
    resource["component"] = [
        {"code": concept(LOINC, "8480-6", "Systolic blood pressure"),
         "valueQuantity": quantity(systolic, "mmHg", "mm[Hg]")},
        {"code": concept(LOINC, "8462-4", "Diastolic blood pressure"),
         "valueQuantity": quantity(diastolic, "mmHg", "mm[Hg]")},
    ]  # fmt: skip
    return resource


def _pulse_oximetry(case: Case, visit: Visit, rng: random.Random, oxygen: bool) -> Json:
    """US Core Pulse Oximetry: both the 59408-5 and the 2708-6 codings are required, and
    supplemental oxygen is given as flow rate and concentration components."""
    saturation = quantity(min(100, round(rng.gauss(94 if oxygen else 97, 1.2))), "%")
    code = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
    profile_url = US_CORE + "us-core-pulse-oximetry"
    resource = _vital(case, visit, "spo2", code, saturation, profile_url)
    resource["code"]["coding"].append(
        {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"}
    )
    if oxygen:
        resource["component"] = [
            {"code": concept(LOINC, "3151-8", "Inhaled oxygen flow rate"),
             "valueQuantity": quantity(2, "L/min")},
            {"code": concept(LOINC, "3150-0", "Inhaled oxygen concentration"),
             "valueQuantity": quantity(28, "%")},
        ]  # fmt: skip
    return resource


def _bmi_percentile(case: Case, visit: Visit, rng: random.Random) -> Json:
    code = ("59576-9", "Body mass index (BMI) [Percentile] Per age and sex")
    percentile = quantity(round(rng.uniform(35, 65)), "%")
    profile_url = US_CORE + "pediatric-bmi-for-age"
    return _vital(case, visit, "bmi-percentile", code, percentile, profile_url)


def _interpretation(value: float, analyte: Analyte) -> Json:
    if value < analyte.low:
        return hl7("v3-ObservationInterpretation", "L", "Low")
    if value > analyte.high:
        return hl7("v3-ObservationInterpretation", "H", "High")
    return hl7("v3-ObservationInterpretation", "N", "Normal")


def lab_result(case: Case, visit: Visit, analyte: Analyte, value: float | None) -> Json:
    """A laboratory result; without a value it says why (a hemolysed specimen)."""
    taken = visit.start + timedelta(minutes=20)
    code = concept(LOINC, analyte.loinc, analyte.display)
    profile_url = US_CORE + "us-core-observation-lab"
    slug = f"lab-{analyte.slug}"
    resource = _observation(case, visit, slug, LABORATORY, code, taken, profile_url)
    resource["issued"] = utc(taken + timedelta(hours=3))
    resource["performer"] = [ref("Organization", REFERENCE_LAB)]
    if value is None:
        resource["dataAbsentReason"] = hl7("data-absent-reason", "error", "Error")
        resource["note"] = [{"text": "Specimen hemolysed; please redraw."}]
        return resource
    number = round(value, analyte.decimals) if analyte.decimals else round(value)
    resource["valueQuantity"] = quantity(number, analyte.unit)
    resource["interpretation"] = [_interpretation(number, analyte)]
    reference_range: Json = {"high": quantity(analyte.high, analyte.unit)}
    if analyte.low:
        reference_range["low"] = quantity(analyte.low, analyte.unit)
    resource["referenceRange"] = [reference_range]
    return resource


def _draw(analyte: Analyte, rng: random.Random, suppressed: bool) -> float:
    middle = (analyte.low + analyte.high) / 2
    value = rng.gauss(middle, (analyte.high - analyte.low) / 5)
    if suppressed:
        value *= _MYELOSUPPRESSION.get(analyte.slug, 1.0)
    return max(value, analyte.low / 3)


def lab_panel(
    case: Case, visit: Visit, rng: random.Random, panel: tuple[str, str], on_treatment: bool
) -> list[Json]:
    """The panel's result Observations followed by the LAB DiagnosticReport over them."""
    analytes = CBC_ANALYTES if panel == CBC else CMP_ANALYTES
    results = [
        lab_result(case, visit, analyte, _draw(analyte, rng, on_treatment and panel == CBC))
        for analyte in analytes
    ]
    if panel == CMP and rng.random() < _HEMOLYSIS_RATE:
        potassium = next(a for a in analytes if a.slug == "k")
        results[analytes.index(potassium)] = lab_result(case, visit, potassium, None)
    taken = visit.start + timedelta(minutes=20)
    report: Json = {
        "resourceType": "DiagnosticReport",
        "id": f"{visit.id}-report-{panel[0]}",
        "meta": {"profile": [US_CORE + "us-core-diagnosticreport-lab"]},
        "status": "final",
        "category": [hl7("v2-0074", "LAB", "Laboratory")],
        "code": concept(LOINC, *panel),
        "subject": ref("Patient", case.patient_id),
        "encounter": ref("Encounter", visit.id),
        "effectiveDateTime": local(taken),
        "issued": utc(taken + timedelta(hours=3, minutes=5)),
        "performer": [ref("Organization", REFERENCE_LAB)],
        "result": [ref("Observation", result["id"]) for result in results],
    }
    return [*results, report]


def tumor_marker(case: Case, visit: Visit, rng: random.Random, days_since: int) -> Json:
    """The case's serum tumor marker: falling after treatment, or rising if it fails."""
    assert case.marker is not None
    analyte = MARKERS[case.marker.loinc]
    if case.marker.responds:
        value = max(case.marker.at_diagnosis * 0.5 ** (max(days_since - 20, 0) / 45),
                    analyte.high / 40)  # fmt: skip
    else:
        value = case.marker.at_diagnosis * (0.7 + days_since / 250)
    return lab_result(case, visit, analyte, value * rng.uniform(0.93, 1.07))


def smoking_status(case: Case, visit: Visit) -> Json:
    """US Core Smoking Status: code 72166-2, issued is required."""
    taken = visit.start + timedelta(minutes=15)
    code = concept(LOINC, "72166-2", "Tobacco smoking status")
    profile_url = US_CORE + "us-core-smokingstatus"
    resource = _observation(case, visit, "smoking", SOCIAL_HISTORY, code, taken, profile_url)
    resource["issued"] = utc(taken)
    resource["valueCodeableConcept"] = concept(SNOMED, *case.smoking)
    return resource


def ecog(case: Case, visit: Visit, score: int) -> Json:
    """ECOG performance status as LOINC 89247-1 with its LOINC answer list."""
    taken = visit.start + timedelta(minutes=25)
    code = concept(LOINC, "89247-1", "ECOG Performance Status score")
    resource = _observation(case, visit, "ecog", SURVEY, code, taken)
    resource["performer"] = [ref("Practitioner", visit.clinician)]
    answer, text = ECOG_ANSWERS[score]
    resource["valueCodeableConcept"] = concept(LOINC, answer, text, f"ECOG {score}")
    return resource
