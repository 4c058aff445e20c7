"""The US Core Patient of each demo case (http://hl7.org/fhir/us/core/STU3.1.1/StructureDefinition-us-core-patient.html)."""

from __future__ import annotations

from datetime import date

from isocenter.ingest.demo_cases import Case
from isocenter.ingest.demo_directory import CANCER_INSTITUTE, STATE
from isocenter.ingest.demo_terms import (
    BCP47,
    CDC_RACE,
    MRN_SYSTEM,
    US_CORE,
    Json,
    coding,
    concept,
    hl7,
    profile,
    ref,
)
from isocenter.ingest.demo_time import day


def mrn(case: Case) -> str:
    return f"ISO{case.seed:07d}"


def _omb_extension(name: str, code: tuple[str, str]) -> Json:
    """us-core-race / us-core-ethnicity: the OMB category plus the required text."""
    return {
        "url": US_CORE + name,
        "extension": [
            {"url": "ombCategory", "valueCoding": coding(CDC_RACE, *code)},
            {"url": "text", "valueString": code[1]},
        ],
    }


def _telecom(case: Case) -> list[Json]:
    telecom: list[Json] = [{"system": "phone", "value": case.person.phone, "use": "home"}]
    if case.person.email:
        telecom.append({"system": "email", "value": case.person.email, "use": "home"})
    return telecom


def patient(case: Case) -> Json:
    person = case.person
    resource: Json = {
        "resourceType": "Patient",
        "id": case.patient_id,
        "meta": profile("us-core-patient"),
        "extension": [
            _omb_extension("us-core-race", person.race),
            _omb_extension("us-core-ethnicity", person.ethnicity),
            {"url": US_CORE + "us-core-birthsex", "valueCode": person.gender[0].upper()},
        ],
        "identifier": [
            {
                "use": "usual",
                "type": {**hl7("v2-0203", "MR", "Medical Record Number"), "text": "MRN"},
                "system": MRN_SYSTEM,
                "value": mrn(case),
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": person.family, "given": list(person.given)}],
        "telecom": _telecom(case),
        "gender": person.gender,
        "birthDate": day(person.birth_date),
        "address": [
            {
                "use": "home",
                "line": [person.line],
                "city": person.city,
                "state": STATE,
                "postalCode": person.postal_code,
                "country": "US",
                "period": {"start": day(_moved_in(case))},
            }
        ],
        "communication": [{"language": concept(BCP47, *person.language), "preferred": True}],
        "generalPractitioner": [ref("Practitioner", case.medical_oncologist)],
        "managingOrganization": ref("Organization", CANCER_INSTITUTE),
    }
    if case.deceased:
        resource["deceasedDateTime"] = day(case.deceased)
    return resource


def _moved_in(case: Case) -> date:
    """Children have lived at home since birth; adults eight years before their diagnosis."""
    if _is_child(case):
        return case.person.birth_date
    return date(case.cancer.diagnosed.year - 8, 1, 1)


def _is_child(case: Case) -> bool:
    return case.cancer.diagnosed.year - case.person.birth_date.year < 18
