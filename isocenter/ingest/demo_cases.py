"""The demo cohort's case table: who each patient is and what their cancer and care were.

Everything here is invented. Cancer codes are SNOMED CT disorders with the ICD-10-CM code
a registrar would give; stages are AJCC 8th edition anatomic stage groups (FIGO for the
cervix, Lugano for lymphoma). Day offsets count from the day of diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

Code = tuple[str, str]  # (code, display)


@dataclass(frozen=True)
class Person:
    family: str
    given: tuple[str, ...]
    gender: str
    birth_date: date
    race: Code  # OMB category, CDC race and ethnicity code system
    ethnicity: Code
    language: Code  # BCP 47
    line: str
    city: str
    postal_code: str
    phone: str
    email: str | None = None


@dataclass(frozen=True)
class Stage:
    prefix: str  # "c" clinical, "p" pathological
    t: str
    n: str
    m: str
    group: str


@dataclass(frozen=True)
class Cancer:
    snomed: Code
    icd10: Code
    body_site: Code
    histology: str
    diagnosed: date
    stage: Stage | None
    stage_text: str


@dataclass(frozen=True)
class Radiotherapy:
    target: str
    body_site: Code
    dose_gy: float
    fractions: int
    technique: str
    start_day: int
    remark: str = ""


@dataclass(frozen=True)
class Surgery:
    code: Code
    day: int


@dataclass(frozen=True)
class Marker:
    loinc: str  # a key of demo_observations.MARKERS
    at_diagnosis: float
    responds: bool


@dataclass(frozen=True)
class Case:
    key: str
    seed: int
    person: Person
    cancer: Cancer
    smoking: Code  # US Core smoking status value (SNOMED CT)
    ecog: int | None
    regimen: tuple[str, ...]  # keys of demo_catalog.DRUGS
    regimen_day: int
    regimen_weeks: int
    supportive: tuple[str, ...]
    allergies: tuple[str, ...]
    comorbidities: tuple[str, ...]
    medical_oncologist: str
    radiation_oncologist: str | None
    goal: str
    radiotherapy: Radiotherapy | None = None
    surgery: Surgery | None = None
    marker: Marker | None = None
    deceased: date | None = None
    in_remission: bool = False
    extra_vaccines: tuple[str, ...] = field(default=())

    @property
    def patient_id(self) -> str:
        return f"demo-{self.key}"


WHITE = ("2106-3", "White")
BLACK = ("2054-5", "Black or African American")
ASIAN = ("2028-9", "Asian")
NATIVE = ("1002-5", "American Indian or Alaska Native")
PACIFIC = ("2076-8", "Native Hawaiian or Other Pacific Islander")
HISPANIC = ("2135-2", "Hispanic or Latino")
NOT_HISPANIC = ("2186-5", "Not Hispanic or Latino")
ENGLISH = ("en-US", "English (United States)")
SPANISH = ("es", "Spanish")
CHINESE = ("zh", "Chinese")

NEVER = ("266919005", "Never smoker")
FORMER = ("8517006", "Former smoker")
CURRENT = ("449868002", "Current every day smoker")
SOME_DAYS = ("428041000124106", "Current some day smoker")

MEDONC_1, MEDONC_2 = "demo-pr-medonc-1", "demo-pr-medonc-2"
RADONC_1, RADONC_2 = "demo-pr-radonc-1", "demo-pr-radonc-2"
PEDONC = "demo-pr-pedonc-1"
