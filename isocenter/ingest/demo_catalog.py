"""Terminology of the demo cohort: drugs, allergens, comorbidities and vaccines.

Each entry pairs a real code with its display so the case table can name things by a short
key. RxNorm codes are ingredients (TTY IN); vaccines are CVX; problems are SNOMED CT with
their ICD-10-CM equivalent.
"""

from __future__ import annotations

from dataclasses import dataclass

from isocenter.ingest.demo_terms import RXNORM, SNOMED


@dataclass(frozen=True)
class Drug:
    rxnorm: str
    display: str
    dosage: str  # the dosageInstruction text a prescriber would write


DRUGS: dict[str, Drug] = {
    "doxorubicin": Drug("3639", "doxorubicin", "60 mg/m2 IV on day 1 every 14 days"),
    "cyclophosphamide": Drug("3002", "cyclophosphamide", "600 mg/m2 IV on day 1 every 14 days"),
    "paclitaxel": Drug("56946", "paclitaxel", "80 mg/m2 IV weekly"),
    "docetaxel": Drug("72962", "docetaxel", "75 mg/m2 IV on day 1 every 21 days"),
    "carboplatin": Drug("40048", "carboplatin", "AUC 2 IV weekly during radiotherapy"),
    "cisplatin": Drug("2555", "cisplatin", "40 mg/m2 IV weekly during radiotherapy"),
    "trastuzumab": Drug(
        "224905", "trastuzumab", "8 mg/kg IV loading dose, then 6 mg/kg every 21 days"
    ),
    "letrozole": Drug("72965", "letrozole", "2.5 mg by mouth once daily"),
    "leuprolide": Drug("42375", "leuprolide", "22.5 mg IM every 3 months"),
    "bicalutamide": Drug("83008", "bicalutamide", "50 mg by mouth once daily for 30 days"),
    "capecitabine": Drug(
        "194000", "capecitabine", "825 mg/m2 by mouth twice daily on radiotherapy days"
    ),
    "oxaliplatin": Drug("32592", "oxaliplatin", "85 mg/m2 IV on day 1 every 14 days"),
    "fluorouracil": Drug(
        "4492", "fluorouracil", "2400 mg/m2 IV continuous infusion over 46 hours every 14 days"
    ),
    "leucovorin": Drug("6313", "leucovorin", "400 mg/m2 IV on day 1 every 14 days"),
    "irinotecan": Drug("51499", "irinotecan", "180 mg/m2 IV on day 1 every 14 days"),
    "temozolomide": Drug(
        "37776", "temozolomide", "75 mg/m2 by mouth daily during radiotherapy"
    ),
    "bleomycin": Drug("1622", "bleomycin", "10 units/m2 IV on days 1 and 15 every 28 days"),
    "vinblastine": Drug("11198", "vinblastine", "6 mg/m2 IV on days 1 and 15 every 28 days"),
    "dacarbazine": Drug("3098", "dacarbazine", "375 mg/m2 IV on days 1 and 15 every 28 days"),
    "vincristine": Drug("11202", "vincristine", "1.5 mg/m2 IV weekly (maximum 2 mg)"),
    "lomustine": Drug("6466", "lomustine", "75 mg/m2 by mouth on day 1 every 6 weeks"),
    "nivolumab": Drug("1597876", "nivolumab", "480 mg IV every 4 weeks for 12 months"),
    "ondansetron": Drug(
        "26225", "ondansetron", "8 mg by mouth every 8 hours as needed for nausea"
    ),
    "dexamethasone": Drug("3264", "dexamethasone", "4 mg by mouth twice daily, taper"),
    "levetiracetam": Drug("114477", "levetiracetam", "500 mg by mouth twice daily"),
    "pegfilgrastim": Drug(
        "338036", "pegfilgrastim", "6 mg subcutaneously once per cycle, day 2"
    ),
    "prochlorperazine": Drug(
        "8704", "prochlorperazine", "10 mg by mouth every 6 hours as needed for nausea"
    ),
    "oxycodone": Drug("7804", "oxycodone", "5 mg by mouth every 4 hours as needed for pain"),
}


@dataclass(frozen=True)
class Allergen:
    system: str
    code: str
    display: str
    category: str | None  # food | medication | environment | biologic
    reaction: tuple[str, str] | None  # SNOMED manifestation (code, display)
    criticality: str


ALLERGENS: dict[str, Allergen] = {
    "penicillin": Allergen(
        SNOMED,
        "764146007",
        "Penicillin",
        "medication",
        ("126485001", "Urticaria"),
        "low",
    ),
    "penicillin-severe": Allergen(
        SNOMED,
        "764146007",
        "Penicillin",
        "medication",
        ("39579001", "Anaphylaxis"),
        "high",
    ),
    "sulfamethoxazole": Allergen(
        SNOMED,
        "387406002",
        "Sulfamethoxazole",
        "medication",
        ("271807003", "Eruption of skin"),
        "low",
    ),
    "codeine": Allergen(
        RXNORM, "2670", "codeine", "medication", ("422587007", "Nausea"), "low"
    ),
    "latex": Allergen(
        SNOMED, "111088007", "Latex", "environment", ("247472004", "Wheal"), "high"
    ),
    "peanut": Allergen(
        SNOMED,
        "256349002",
        "Peanut - dietary",
        "food",
        ("39579001", "Anaphylaxis"),
        "high",
    ),
    "none": Allergen(SNOMED, "716186003", "No known allergy", None, None, "low"),
}


@dataclass(frozen=True)
class Problem:
    snomed: tuple[str, str]
    icd10: tuple[str, str]


COMORBIDITIES: dict[str, Problem] = {
    "hypertension": Problem(
        ("38341003", "Hypertensive disorder, systemic arterial"),
        ("I10", "Essential (primary) hypertension"),
    ),
    "diabetes": Problem(
        ("44054006", "Diabetes mellitus type 2"),
        ("E11.9", "Type 2 diabetes mellitus without complications"),
    ),
    "hyperlipidemia": Problem(
        ("55822004", "Hyperlipidemia"), ("E78.5", "Hyperlipidemia, unspecified")
    ),
    "copd": Problem(
        ("13645005", "Chronic obstructive lung disease"),
        ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    ),
    "hypothyroidism": Problem(
        ("40930008", "Hypothyroidism"), ("E03.9", "Hypothyroidism, unspecified")
    ),
}

# CVX code -> display, as in the CDC CVX table.
VACCINES: dict[str, str] = {
    "150": "Influenza, injectable, quadrivalent, preservative free",
    "208": "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose",
    "33": "pneumococcal polysaccharide vaccine, 23 valent",
    "187": "zoster vaccine recombinant",
    "20": "diphtheria, tetanus toxoids and acellular pertussis vaccine",
    "10": "poliovirus vaccine, inactivated",
    "03": "measles, mumps and rubella virus vaccine",
    "21": "varicella virus vaccine",
}

# Drug classes, by DRUGS key: they decide visit billing, procedure codes, blood counts
# and how long an order runs.
HORMONAL = frozenset({"leuprolide", "bicalutamide", "letrozole"})
IMMUNE = frozenset({"nivolumab"})
ORAL = frozenset({"temozolomide", "capecitabine", "bicalutamide", "letrozole", "lomustine"})
LONG_TERM = frozenset({"letrozole", "levetiracetam"})
# Hormonal and immune therapies do not suppress the marrow as cytotoxics do.
NON_CYTOTOXIC = HORMONAL | IMMUNE
