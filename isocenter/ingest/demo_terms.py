"""Code systems, profile URLs and small data-type builders for the demo cohort.

System URLs are the ones FHIR R4 names for external terminologies
(https://hl7.org/fhir/R4/terminologies-systems.html).
"""

from __future__ import annotations

from typing import Any

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
NUCC = "http://nucc.org/provider-taxonomy"
CPT = "http://www.ama-assn.org/go/cpt"
AJCC = "http://cancerstaging.org"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"
BCP47 = "urn:ietf:bcp:47"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
US_CORE_CODES = "http://hl7.org/fhir/us/core/CodeSystem/"
FHIR_PROFILE = "http://hl7.org/fhir/StructureDefinition/"

# Our own identifier namespaces; example.org is reserved for examples (RFC 2606).
MRN_SYSTEM = "https://isocenter.example.org/sid/mrn"
ENCOUNTER_SYSTEM = "https://isocenter.example.org/sid/encounter"
DOCUMENT_SYSTEM = "https://isocenter.example.org/sid/document"

Json = dict[str, Any]


def coding(system: str, code: str, display: str) -> Json:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str, text: str | None = None) -> Json:
    """A CodeableConcept with one coding; text defaults to the display."""
    return {"coding": [coding(system, code, display)], "text": text or display}


def hl7(code_system: str, code: str, display: str) -> Json:
    """A CodeableConcept from one of the HL7 terminology code systems (THO)."""
    return {"coding": [coding(TERMINOLOGY + code_system, code, display)]}


def ref(resource_type: str, id: str, display: str | None = None) -> Json:
    reference: Json = {"reference": f"{resource_type}/{id}"}
    if display:
        reference["display"] = display
    return reference


def quantity(value: float, unit: str, code: str | None = None) -> Json:
    """A UCUM Quantity; unit is the human form, code the UCUM expression."""
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def profile(*names: str) -> Json:
    """A meta element claiming US Core profiles, by their short names."""
    return {"profile": [US_CORE + name for name in names]}


def narrative(status: str, xhtml_body: str) -> Json:
    div = f'<div xmlns="http://www.w3.org/1999/xhtml">{xhtml_body}</div>'
    return {"status": status, "div": div}
