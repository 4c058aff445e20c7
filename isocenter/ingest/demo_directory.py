"""The demo cohort's shared resources: Organizations, Locations, Practitioners and roles.

All names, addresses, telephone numbers (555-01xx, reserved for fiction) and NPIs are
invented. NPIs carry a valid check digit (Luhn over the 80840 prefix, as CMS specifies)
so that validators accept them.
"""

from __future__ import annotations

from dataclasses import dataclass

from isocenter.ingest.demo_terms import (
    NPI,
    NUCC,
    Json,
    coding,
    concept,
    hl7,
    profile,
    ref,
)

CITY, STATE, POSTAL_CODE = "Brookhaven Falls", "OH", "43901"


def npi(base: str) -> str:
    """Append the Luhn check digit to a 9-digit NPI base (prefix 80840 counted)."""
    digits = [int(c) for c in "80840" + base]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return base + str((10 - total % 10) % 10)


def _address(line: str) -> Json:
    return {
        "use": "work",
        "line": [line],
        "city": CITY,
        "state": STATE,
        "postalCode": POSTAL_CODE,
        "country": "US",
    }


def _phone(number: str) -> Json:
    return {"system": "phone", "value": number, "use": "work"}


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    npi_base: str
    line: str
    phone: str


ORGANIZATIONS = (
    Site("demo-org-cancer-institute", "Isocenter Demo Cancer Institute", "190000011",
         "1200 Meridian Parkway", "(330) 555-0100"),
    Site("demo-org-community-hospital", "Isocenter Demo Community Hospital", "190000029",
         "45 Foundry Road", "(330) 555-0101"),
    Site("demo-org-reference-lab", "Isocenter Demo Reference Laboratory", "190000037",
         "1200 Meridian Parkway, Suite B", "(330) 555-0102"),
)  # fmt: skip
CANCER_INSTITUTE, COMMUNITY_HOSPITAL, REFERENCE_LAB = (site.id for site in ORGANIZATIONS)
SITE_BY_ID = {site.id: site for site in ORGANIZATIONS}


def organization(site: Site) -> Json:
    return {
        "resourceType": "Organization",
        "id": site.id,
        "meta": profile("us-core-organization"),
        "identifier": [{"system": NPI, "value": npi(site.npi_base)}],
        "active": True,
        "type": [hl7("organization-type", "prov", "Healthcare Provider")],
        "name": site.name,
        "telecom": [_phone(site.phone)],
        "address": [_address(site.line)],
    }


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    role_code: str  # v3-RoleCode service delivery location type
    role_display: str
    organization: str
    latitude: float
    longitude: float


LOCATIONS = (
    Place("demo-loc-radiation-oncology", "Cancer Institute Radiation Oncology", "RADO",
          "radiation oncology unit", CANCER_INSTITUTE, 41.0301, -81.5182),
    Place("demo-loc-oncology-clinic", "Cancer Institute Oncology Clinic", "ONCL",
          "Oncology clinic", CANCER_INSTITUTE, 41.0303, -81.5179),
    Place("demo-loc-hospital", "Community Hospital Surgical Ward", "HOSP",
          "Hospital", COMMUNITY_HOSPITAL, 41.0412, -81.5031),
    Place("demo-loc-laboratory", "Reference Laboratory Draw Station", "HLAB",
          "hospital laboratory", REFERENCE_LAB, 41.0302, -81.5184),
)  # fmt: skip
RADIATION_ONCOLOGY, ONCOLOGY_CLINIC, HOSPITAL_WARD, LABORATORY = (p.id for p in LOCATIONS)


def location(place: Place) -> Json:
    return {
        "resourceType": "Location",
        "id": place.id,
        "meta": profile("us-core-location"),
        "status": "active",
        "name": place.name,
        "type": [hl7("v3-RoleCode", place.role_code, place.role_display)],
        "telecom": [_phone("(330) 555-0103")],
        "address": _address(SITE_BY_ID[place.organization].line),
        "position": {"longitude": place.longitude, "latitude": place.latitude},
        "managingOrganization": ref("Organization", place.organization),
    }


@dataclass(frozen=True)
class Clinician:
    id: str
    family: str
    given: str
    gender: str
    degree: str  # v2-0360 degree code
    role: str  # practitioner-role code
    specialty: tuple[str, str]  # NUCC taxonomy (code, display)
    npi_base: str
    organization: str
    location: str
    phone: str

    @property
    def display(self) -> str:
        return f"{self.given} {self.family}, {self.degree}"


CLINICIANS = (
    Clinician("demo-pr-medonc-1", "Achterberg", "Imogen", "female", "MD", "doctor",
              ("207RX0202X", "Medical Oncology Physician"), "290000015", CANCER_INSTITUTE,
              ONCOLOGY_CLINIC, "(330) 555-0150"),
    Clinician("demo-pr-medonc-2", "Nwachukwu-Hale", "Casimir", "male", "MD", "doctor",
              ("207RX0202X", "Medical Oncology Physician"), "290000023", CANCER_INSTITUTE,
              ONCOLOGY_CLINIC, "(330) 555-0151"),
    Clinician("demo-pr-radonc-1", "Kettleby", "Saoirse", "female", "MD", "doctor",
              ("2085R0001X", "Radiation Oncology Physician"), "290000031", CANCER_INSTITUTE,
              RADIATION_ONCOLOGY, "(330) 555-0152"),
    Clinician("demo-pr-radonc-2", "Ilunga", "Mateus", "male", "MD", "doctor",
              ("2085R0001X", "Radiation Oncology Physician"), "290000049", CANCER_INSTITUTE,
              RADIATION_ONCOLOGY, "(330) 555-0153"),
    Clinician("demo-pr-surgonc-1", "Vasquez-Tully", "Henrike", "female", "MD", "doctor",
              ("2086X0206X", "Surgical Oncology Physician"), "290000056", COMMUNITY_HOSPITAL,
              HOSPITAL_WARD, "(330) 555-0154"),
    Clinician("demo-pr-pedonc-1", "Quillfeather", "Ambrose", "male", "MD", "doctor",
              ("2080P0207X", "Pediatric Hematology-Oncology Physician"), "290000064",
              CANCER_INSTITUTE, ONCOLOGY_CLINIC, "(330) 555-0155"),
    Clinician("demo-pr-nurse-1", "Brannagh", "Odile", "female", "RN", "nurse",
              ("163WX0200X", "Oncology Registered Nurse"), "290000072", CANCER_INSTITUTE,
              ONCOLOGY_CLINIC, "(330) 555-0156"),
    Clinician("demo-pr-pharm-1", "Tenbrook", "Yusuf", "male", "PharmD", "pharmacist",
              ("183500000X", "Pharmacist"), "290000080", CANCER_INSTITUTE,
              ONCOLOGY_CLINIC, "(330) 555-0157"),
)  # fmt: skip
CLINICIAN_BY_ID = {clinician.id: clinician for clinician in CLINICIANS}

_DEGREES = {
    "MD": "Doctor of Medicine",
    "RN": "Registered Nurse",
    "PharmD": "Doctor of Pharmacy",
}


def practitioner(clinician: Clinician) -> Json:
    return {
        "resourceType": "Practitioner",
        "id": clinician.id,
        "meta": profile("us-core-practitioner"),
        "identifier": [{"system": NPI, "value": npi(clinician.npi_base)}],
        "active": True,
        "name": [
            {
                "use": "official",
                "family": clinician.family,
                "given": [clinician.given],
                "suffix": [clinician.degree],
            }
        ],
        "telecom": [_phone(clinician.phone)],
        "address": [_address("1200 Meridian Parkway")],
        "gender": clinician.gender,
        "qualification": [
            {"code": hl7("v2-0360", clinician.degree, _DEGREES[clinician.degree])}
        ],
    }


def practitioner_role(clinician: Clinician) -> Json:
    code, display = clinician.specialty
    return {
        "resourceType": "PractitionerRole",
        "id": f"{clinician.id}-role",
        "meta": profile("us-core-practitionerrole"),
        "active": True,
        "practitioner": ref("Practitioner", clinician.id, clinician.display),
        "organization": ref("Organization", clinician.organization),
        "code": [
            {
                "coding": [
                    coding(
                        "http://terminology.hl7.org/CodeSystem/practitioner-role",
                        clinician.role,
                        clinician.role.capitalize(),
                    )
                ]
            }
        ],
        "specialty": [concept(NUCC, code, display)],
        "location": [ref("Location", clinician.location)],
        "telecom": [_phone(clinician.phone)],
    }


def directory_resources() -> list[Json]:
    """Every shared resource, referenced resources first."""
    return [
        *(organization(site) for site in ORGANIZATIONS),
        *(location(place) for place in LOCATIONS),
        *(practitioner(clinician) for clinician in CLINICIANS),
        *(practitioner_role(clinician) for clinician in CLINICIANS),
    ]
