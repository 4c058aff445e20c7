"""The built-in demo cohort: deterministic oncology patients as FHIR R4 transaction Bundles.

``demo_bundles()`` yields one Bundle with the shared Organizations, Locations,
Practitioners and PractitionerRoles, then one Bundle per patient. Every entry is a PUT to
``Type/id`` with a stable id, so loading the cohort twice leaves one copy; references are
relative (``Type/id``) and resolve inside the cohort. Resources claim US Core 3.1.1
profiles (http://hl7.org/fhir/us/core/STU3.1.1/). The same code yields byte-identical
output: all randomness comes from per-case seeds and all dates from a fixed anchor day.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

from isocenter.ingest.demo_cases import Case
from isocenter.ingest.demo_cohort import CASES
from isocenter.ingest.demo_directory import CLINICIANS, directory_resources
from isocenter.ingest.demo_encounters import Visit, encounter, on_cytotoxic_treatment, visits
from isocenter.ingest.demo_observations import (
    CBC,
    CMP,
    Body,
    ecog,
    lab_panel,
    smoking_status,
    tumor_marker,
    vital_signs,
)
from isocenter.ingest.demo_oncology import (
    cancer_id,
    care_plan,
    care_team,
    comorbidities,
    goal,
    medication_requests,
    primary_cancer,
    procedures,
    staging,
)
from isocenter.ingest.demo_patient import patient
from isocenter.ingest.demo_records import (
    allergies,
    document_references,
    immunizations,
    pathology_report,
)
from isocenter.ingest.demo_terms import Json

DEMO_PATIENT_IDS: tuple[str, ...] = tuple(case.patient_id for case in CASES)
DEMO_PRACTITIONER_IDS: tuple[str, ...] = tuple(clinician.id for clinician in CLINICIANS)

# Fixed namespace for the entries' urn:uuid fullUrls (uuid5 of "Type/id").
_FULL_URL_NAMESPACE = uuid.UUID("5d1f0c36-8a52-4c39-9d0e-6f3b8e1a2c47")


def demo_bundles() -> Iterator[Json]:
    """The shared-resources Bundle, then one transaction Bundle per demo patient."""
    yield transaction("demo-directory", directory_resources())
    for case in CASES:
        yield transaction(f"{case.patient_id}-record", patient_resources(case))


def transaction(bundle_id: str, resources: list[Json]) -> Json:
    """A transaction Bundle that PUTs each resource at its own Type/id."""
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "transaction",
        "entry": [_entry(resource) for resource in resources],
    }


def _entry(resource: Json) -> Json:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid5(_FULL_URL_NAMESPACE, url)}",
        "resource": resource,
        "request": {"method": "PUT", "url": url},
    }


def patient_resources(case: Case) -> list[Json]:
    """Everything in one demo patient's record, the Patient first."""
    rng = random.Random(case.seed)
    timeline = visits(case, rng)
    consult = next(visit for visit in timeline if visit.kind == "consult")
    biopsy = next(visit for visit in timeline if visit.kind == "biopsy")
    return [
        patient(case),
        *(encounter(case, visit, cancer_id(case)) for visit in timeline),
        primary_cancer(case, timeline),
        *comorbidities(case, timeline),
        *staging(case, timeline),
        *procedures(case, timeline),
        *medication_requests(case, timeline),
        care_team(case, timeline),
        goal(case, timeline),
        care_plan(case, timeline),
        *allergies(case, consult),
        *immunizations(case, rng),
        *document_references(case, timeline),
        pathology_report(case, biopsy),
        *_observations(case, timeline, rng),
    ]


def _first_body(case: Case, rng: random.Random) -> Body:
    child = case.cancer.diagnosed.year - case.person.birth_date.year < 18
    if child:
        return Body(rng.uniform(124, 132), rng.uniform(24, 29), child=True)
    height = rng.gauss(163 if case.person.gender == "female" else 177, 5)
    return Body(height, rng.uniform(22, 30) * (height / 100) ** 2, child=False)


def _weight_change(case: Case, visit: Visit) -> float:
    if case.deceased:
        return 0.985
    return 0.995 if visit.kind in ("systemic-therapy", "radiotherapy", "surgery") else 1.004


def _ecog_score(case: Case, visit: Visit, treated: bool) -> int:
    assert case.ecog is not None
    near_death = case.deceased and (case.deceased - visit.start.date()).days < 150
    return min(case.ecog + int(treated) + int(bool(near_death)), 4)


def _panels(visit: Visit, number: int, treated: bool) -> list[tuple[str, str]]:
    """Blood panels drawn at a visit: counts before treatment, chemistry less often."""
    panels = []
    if visit.kind in ("consult", "systemic-therapy", "surgery", "follow-up") or treated:
        panels.append(CBC)
    if visit.kind == "consult" or (
        visit.kind in ("systemic-therapy", "follow-up") and number % 2
    ):
        panels.append(CMP)
    return panels


def _observations(case: Case, timeline: list[Visit], rng: random.Random) -> list[Json]:
    body = _first_body(case, rng)
    resources: list[Json] = []
    for number, visit in enumerate(timeline):
        treated = on_cytotoxic_treatment(case, visit.start.date())
        body.weight_kg *= _weight_change(case, visit)
        oxygen = "copd" in case.comorbidities and visit.kind == "follow-up"
        resources.extend(vital_signs(case, visit, rng, body, oxygen))
        if visit.kind == "consult":
            resources.append(smoking_status(case, visit))
        for panel in _panels(visit, number, treated):
            resources.extend(lab_panel(case, visit, rng, panel, treated))
        if case.marker and visit.kind in ("consult", "follow-up"):
            days_since = (visit.start.date() - case.cancer.diagnosed).days
            resources.append(tumor_marker(case, visit, rng, days_since))
        if case.ecog is not None and visit.kind in ("consult", "systemic-therapy", "follow-up"):
            resources.append(ecog(case, visit, _ecog_score(case, visit, treated)))
    return resources
