"""The built-in demo cohort: deterministic, complete, self-contained and US Core shaped.

Required elements are not listed by hand: ``required_elements`` reads them (min >= 1, with
fixed and pattern values) from the US Core 3.1.1 StructureDefinition snapshots in the shared
data, and ``missing_elements`` checks a resource against that list.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from isocenter.ingest.demo import DEMO_PATIENT_IDS, DEMO_PRACTITIONER_IDS, demo_bundles
from isocenter.ingest.demo_directory import npi
from isocenter.ingest.demo_time import local, utc, weekday_on_or_after
from isocenter.ingest.validation import check_resource
from isocenter.store import schema
from isocenter.store.repository import Store
from tests.conftest import SHARED_DATA

US_CORE = SHARED_DATA / "definitions" / "us-core-3.1.1"
PATIENT_COMPARTMENT = (
    SHARED_DATA / "definitions" / "r4-core" / "CompartmentDefinition-patient.json"
)
US_CORE_PREFIX = "http://hl7.org/fhir/us/core/StructureDefinition/"
SHARED_TYPES = {"Organization", "Location", "Practitioner", "PractitionerRole"}
BRIEF_TYPES = SHARED_TYPES | {
    "Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "Procedure",
    "AllergyIntolerance", "Immunization", "DocumentReference", "DiagnosticReport",
    "CarePlan", "CareTeam", "Goal",
}  # fmt: skip
STANDARD_SYSTEMS = {
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/cvx",
    "http://unitsofmeasure.org",
    "http://nucc.org/provider-taxonomy",
    "http://www.ama-assn.org/go/cpt",
    "http://cancerstaging.org",
    "urn:oid:2.16.840.1.113883.6.238",
    "urn:ietf:bcp:47",
    "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
    "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def bundles() -> list[Json]:
    return list(demo_bundles())


@pytest.fixture(scope="module")
def resources(bundles: list[Json]) -> list[Json]:
    return [entry["resource"] for bundle in bundles for entry in bundle["entry"]]


def _walk(value: Any) -> Iterator[Any]:
    """Every dict, list and scalar inside a JSON value (iterative: the data is large)."""
    stack = [value]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _references(value: Any) -> list[str]:
    return [
        node["reference"]
        for node in _walk(value)
        if isinstance(node, dict) and isinstance(node.get("reference"), str)
    ]


# --- determinism -------------------------------------------------------------------------


def test_two_runs_give_byte_identical_bundles() -> None:
    first = json.dumps(list(demo_bundles()), ensure_ascii=False)
    second = json.dumps(list(demo_bundles()), ensure_ascii=False)

    assert first == second


def test_output_does_not_depend_on_the_hash_seed_of_the_process(bundles: list[Json]) -> None:
    script = (
        "import hashlib, json\n"
        "from isocenter.ingest.demo import demo_bundles\n"
        "text = json.dumps(list(demo_bundles()), ensure_ascii=False)\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env=environment, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    here = hashlib.sha256(json.dumps(bundles, ensure_ascii=False).encode()).hexdigest()

    assert other.stdout.strip() == here


def test_no_demo_module_reads_the_clock() -> None:
    sources = Path(demo_bundles.__code__.co_filename).parent.glob("demo*.py")

    for source in sources:
        text = source.read_text()
        assert not re.search(r"\b(today|now|utcnow|time)\(\)", text), source.name


def test_eastern_offset_follows_the_us_daylight_saving_rule() -> None:
    # 2023: daylight time from 12 March 02:00 to 5 November 02:00.
    assert local(datetime(2023, 3, 12, 1, 59)) == "2023-03-12T01:59:00-05:00"
    assert local(datetime(2023, 3, 12, 3, 0)) == "2023-03-12T03:00:00-04:00"
    assert local(datetime(2023, 11, 5, 1, 0)) == "2023-11-05T01:00:00-04:00"
    assert local(datetime(2023, 11, 5, 2, 0)) == "2023-11-05T02:00:00-05:00"


def test_instants_are_the_same_moment_in_utc() -> None:
    assert utc(datetime(2023, 1, 10, 21, 30)) == "2023-01-11T02:30:00Z"
    assert utc(datetime(2023, 7, 10, 9, 0)) == "2023-07-10T13:00:00Z"


def test_weekend_days_move_to_the_monday() -> None:
    saturday, sunday, monday = date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3)

    assert [weekday_on_or_after(d) for d in (saturday, sunday, monday)] == [monday] * 3


# --- bundles, ids and references ---------------------------------------------------------


def test_first_bundle_holds_only_the_shared_resources(bundles: list[Json]) -> None:
    types = {entry["resource"]["resourceType"] for entry in bundles[0]["entry"]}

    assert types == SHARED_TYPES
    for bundle in bundles[1:]:
        assert not SHARED_TYPES & {
            entry["resource"]["resourceType"] for entry in bundle["entry"]
        }


def test_then_one_bundle_per_patient_listed_in_demo_patient_ids(bundles: list[Json]) -> None:
    patients = [
        [entry["resource"]["id"] for entry in bundle["entry"]
         if entry["resource"]["resourceType"] == "Patient"]
        for bundle in bundles[1:]
    ]  # fmt: skip

    assert patients == [[patient_id] for patient_id in DEMO_PATIENT_IDS]
    assert len(DEMO_PATIENT_IDS) >= 12


def test_demo_practitioner_ids_are_the_practitioners(resources: list[Json]) -> None:
    practitioners = [r["id"] for r in resources if r["resourceType"] == "Practitioner"]

    assert tuple(practitioners) == DEMO_PRACTITIONER_IDS


def test_bundles_are_transactions_of_puts_at_type_and_id(bundles: list[Json]) -> None:
    full_urls = []
    for bundle in bundles:
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert entry["request"] == {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
            assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", entry["fullUrl"])
            full_urls.append(entry["fullUrl"])

    assert len(full_urls) == len(set(full_urls))


def test_every_resource_has_a_unique_valid_id_and_a_resource_type(
    resources: list[Json],
) -> None:
    keys = [(resource["resourceType"], resource["id"]) for resource in resources]

    assert all(re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", id) for _, id in keys)
    assert len(keys) == len(set(keys))


def test_every_resource_passes_the_loaders_shape_checks(resources: list[Json]) -> None:
    for resource in resources:
        check_resource(resource, BRIEF_TYPES)


def test_every_type_the_brief_lists_is_present(resources: list[Json]) -> None:
    assert {resource["resourceType"] for resource in resources} == BRIEF_TYPES


def test_every_reference_resolves_to_a_resource_in_the_cohort(resources: list[Json]) -> None:
    known = {f"{resource['resourceType']}/{resource['id']}" for resource in resources}
    references = [reference for resource in resources for reference in _references(resource)]

    assert references
    assert sorted(set(references) - known) == []


def test_each_patient_bundle_stays_inside_that_patients_compartment(
    bundles: list[Json],
) -> None:
    compartment = json.loads(PATIENT_COMPARTMENT.read_text())
    member_types = {item["code"] for item in compartment["resource"] if item.get("param")}
    for patient_id, bundle in zip(DEMO_PATIENT_IDS, bundles[1:], strict=True):
        for entry in bundle["entry"]:
            resource = entry["resource"]
            patients = {r for r in _references(resource) if r.startswith("Patient/")}
            if resource["resourceType"] == "Patient":
                assert resource["id"] == patient_id
                continue
            assert resource["resourceType"] in member_types
            assert patients == {f"Patient/{patient_id}"}, resource["id"]


# --- US Core profiles ---------------------------------------------------------------------


@cache
def structure_definitions() -> dict[str, Json]:
    """US Core 3.1.1 StructureDefinitions by canonical URL."""
    definitions = (
        json.loads(path.read_text()) for path in US_CORE.glob("StructureDefinition-*")
    )
    return {definition["url"]: definition for definition in definitions}


def required_elements(definition: Json) -> list[Json]:
    """The snapshot elements with min >= 1 (below the root), in snapshot order."""
    return [
        element
        for element in definition["snapshot"]["element"]
        if element.get("min", 0) >= 1 and "." in element["id"]
    ]


def _fixed_value(element: Json) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith(("fixed", "pattern")):
            return key, value
    return None


def _matches(value: Any, key: str, expected: Any) -> bool:
    """fixed[x] is equality; pattern[x] is 'contains at least these values'."""
    if key.startswith("fixed"):
        return value == expected
    if isinstance(expected, dict):
        return isinstance(value, dict) and all(
            k in value and _matches(value[k], key, v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        items = value if isinstance(value, list) else [value]
        return all(any(_matches(item, key, e) for item in items) for e in expected)
    return value == expected


def _steps(element_id: str) -> list[tuple[str, str | None]]:
    steps = []
    for part in element_id.split(".")[1:]:
        name, _, slice_name = part.partition(":")
        steps.append((name, slice_name or None))
    return steps


def _children(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        values = [v for k, v in node.items() if re.fullmatch(stem + r"[A-Z]\w*", k)]
    else:
        values = [node[name]] if name in node else []
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _slice_rules(definition: Json, slice_id: str) -> list[tuple[list[str], str, Any]]:
    return _cached_slice_rules(definition["url"], slice_id)


@cache
def _cached_slice_rules(url: str, slice_id: str) -> list[tuple[list[str], str, Any]]:
    """The fixed/pattern values that identify a slice: on it, or on required descendants."""
    definition = structure_definitions()[url]
    elements = {element["id"]: element for element in definition["snapshot"]["element"]}
    rules = []
    for element_id, element in elements.items():
        if element_id != slice_id and not element_id.startswith(slice_id + "."):
            continue
        relative = element_id[len(slice_id) :].split(".")[1:]
        chain = [".".join([slice_id, *relative[: i + 1]]) for i in range(len(relative))]
        if any(elements[link].get("min", 0) < 1 for link in chain):
            continue
        fixed = _fixed_value(element)
        if fixed:
            rules.append((relative, *fixed))
    return rules


def _in_slice(definition: Json, slice_id: str, node: Any, name: str, slice_name: str) -> bool:
    if name.endswith("[x]"):
        return False  # type slices are selected by key in _select
    if name == "extension":
        element = next(e for e in definition["snapshot"]["element"] if e["id"] == slice_id)
        profiles = element.get("type", [{}])[0].get("profile")
        if profiles:
            return isinstance(node, dict) and node.get("url") == profiles[0]
    for relative, key, expected in _slice_rules(definition, slice_id):
        values = [node]
        for step in relative:
            values = [child for value in values for child in _children(value, step)]
        if not any(_matches(value, key, expected) for value in values):
            return False
    return True


def _select(definition: Json, nodes: list[Any], prefix: str, name: str, slice_name: str | None):
    if slice_name and name.endswith("[x]"):
        return [n[slice_name] for n in nodes if isinstance(n, dict) and slice_name in n]
    children = [child for node in nodes for child in _children(node, name)]
    if slice_name is None:
        return children
    slice_id = f"{prefix}.{name}:{slice_name}"
    return [c for c in children if _in_slice(definition, slice_id, c, name, slice_name)]


def missing_elements(definition: Json, resource: Json) -> list[str]:
    """Required elements absent, and fixed/pattern values not met, in one resource."""
    problems = []
    for element in required_elements(definition) + _valued_elements(definition):
        steps = _steps(element["id"])
        nodes: list[Any] = [resource]
        prefix = element["id"].split(".")[0]
        for name, slice_name in steps[:-1]:
            nodes = _select(definition, nodes, prefix, name, slice_name)
            prefix += f".{name}" + (f":{slice_name}" if slice_name else "")
        name, slice_name = steps[-1]
        for node in nodes:
            found = _select(definition, [node], prefix, name, slice_name)
            if element.get("min", 0) >= 1 and not found:
                problems.append(f"{element['id']} missing")
            fixed = _fixed_value(element)
            unmet = fixed and not any(_matches(value, *fixed) for value in found)
            if unmet and found and not slice_name:
                problems.append(f"{element['id']} is not {fixed[1]!r}")
    return problems


def _valued_elements(definition: Json) -> list[Json]:
    """Optional elements that carry a fixed or pattern value (checked where present)."""
    return [
        element
        for element in definition["snapshot"]["element"]
        if element.get("min", 0) == 0 and "." in element["id"] and _fixed_value(element)
    ]


def _claimed_profiles(resources: list[Json]) -> Counter[str]:
    return Counter(
        url for resource in resources for url in resource.get("meta", {}).get("profile", [])
    )


def test_us_core_profile_urls_claimed_are_ones_us_core_3_1_1_defines(
    resources: list[Json],
) -> None:
    claimed = {url for url in _claimed_profiles(resources) if url.startswith(US_CORE_PREFIX)}

    assert claimed <= set(structure_definitions())
    assert len(claimed) >= 17


def test_every_resource_of_a_profiled_type_claims_a_profile(resources: list[Json]) -> None:
    profiled = {
        d["type"] for d in structure_definitions().values() if d["kind"] == "resource"
    } - {"Observation"}
    unclaimed = [
        f"{r['resourceType']}/{r['id']}"
        for r in resources
        if r["resourceType"] in profiled and not r.get("meta", {}).get("profile")
    ]

    assert unclaimed == []


def test_required_element_lists_come_from_the_structure_definitions() -> None:
    patient = structure_definitions()[US_CORE_PREFIX + "us-core-patient"]
    required = [element["id"] for element in required_elements(patient)]

    assert {"Patient.identifier", "Patient.name", "Patient.gender"} <= set(required)


def test_required_element_check_reports_what_is_missing_or_wrong(resources: list[Json]) -> None:
    definitions = structure_definitions()
    patient = json.loads(json.dumps(_of_type(resources, "Patient")[0]))
    del patient["identifier"][0]["system"], patient["gender"]
    oximetry = next(r for r in resources if r["id"].endswith("-spo2"))
    oximetry = json.loads(json.dumps(oximetry))
    oximetry["category"][0]["coding"][0]["code"] = "laboratory"
    oximetry["valueQuantity"]["code"] = "mmol/L"

    assert missing_elements(definitions[US_CORE_PREFIX + "us-core-patient"], patient) == [
        "Patient.identifier.system missing",
        "Patient.gender missing",
    ]
    assert missing_elements(
        definitions[US_CORE_PREFIX + "us-core-pulse-oximetry"], oximetry
    ) == [
        "Observation.category:VSCat missing",
        "Observation.value[x]:valueQuantity.code is not '%'",
    ]


def _profiled_cases() -> list[str]:
    return sorted(
        url.removeprefix(US_CORE_PREFIX)
        for url, definition in structure_definitions().items()
        if definition["kind"] == "resource"
    )


@pytest.mark.parametrize("profile", _profiled_cases())
def test_resources_claiming_a_profile_have_its_required_elements(
    resources: list[Json], profile: str
) -> None:
    definition = structure_definitions()[US_CORE_PREFIX + profile]
    claiming = [
        r for r in resources if US_CORE_PREFIX + profile in r.get("meta", {}).get("profile", [])
    ]
    problems = {
        f"{r['resourceType']}/{r['id']}": missing_elements(definition, r) for r in claiming
    }

    assert {key: value for key, value in problems.items() if value} == {}


def test_us_core_extensions_on_patients_meet_their_definitions(resources: list[Json]) -> None:
    definitions = structure_definitions()
    for patient in (r for r in resources if r["resourceType"] == "Patient"):
        urls = [extension["url"] for extension in patient["extension"]]
        assert urls == [US_CORE_PREFIX + name for name in ("us-core-race", "us-core-ethnicity",
                                                           "us-core-birthsex")]  # fmt: skip
        for extension in patient["extension"]:
            assert missing_elements(definitions[extension["url"]], extension) == []


# Must Support elements the cohort leaves out on purpose, and why.
ABSENT_BY_DESIGN = {
    "us-core-documentreference": {"DocumentReference.content.attachment.url"},  # data inline
    "us-core-practitionerrole": {"PractitionerRole.endpoint"},  # no Endpoints to point at
    # Every reading, and every oxygen flow and concentration, has a value.
    "us-core-pulse-oximetry": {
        "Observation.dataAbsentReason",
        "Observation.component.dataAbsentReason",
    },
    "pediatric-bmi-for-age": {
        "Observation.dataAbsentReason",
        "Observation.component",
        "Observation.component.code",
        "Observation.component.value[x]",
        "Observation.component.dataAbsentReason",
    },  # a percentile has no components
}


def _present(node: Any, names: list[str]) -> bool:
    if not names:
        return True
    if isinstance(node, list):
        return any(_present(item, names) for item in node)
    return any(_present(child, names[1:]) for child in _children_values(node, names[0]))


def _children_values(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    if name.endswith("[x]"):
        return [v for k, v in node.items() if re.fullmatch(name[:-3] + r"[A-Z]\w*", k)]
    return [node[name]] if name in node else []


# US Core 3.1.1 profiles the cohort has no resources for (no implants, no Medication
# resources since orders code the drug inline, no Provenance, no infant measurements).
UNUSED_PROFILES = {
    "us-core-implantable-device",
    "us-core-medication",
    "us-core-provenance",
    "head-occipital-frontal-circumference-percentile",
    "pediatric-weight-for-height",
}


def test_every_other_resource_profile_is_used(resources: list[Json]) -> None:
    used = {url.removeprefix(US_CORE_PREFIX) for url in _claimed_profiles(resources)}

    assert set(_profiled_cases()) - used == UNUSED_PROFILES


@pytest.mark.parametrize("profile", sorted(set(_profiled_cases()) - UNUSED_PROFILES))
def test_must_support_elements_appear_somewhere_in_the_cohort(
    resources: list[Json], profile: str
) -> None:
    definition = structure_definitions()[US_CORE_PREFIX + profile]
    claiming = [
        r for r in resources if US_CORE_PREFIX + profile in r.get("meta", {}).get("profile", [])
    ]
    must_support = [
        e["id"]
        for e in definition["snapshot"]["element"]
        if e.get("mustSupport") and ":" not in e["id"]
    ]
    absent = {
        element_id
        for element_id in must_support
        if not any(_present(r, element_id.split(".")[1:]) for r in claiming)
    }

    assert absent == ABSENT_BY_DESIGN.get(profile, set())


def test_profiles_are_used_for_every_clinical_type(resources: list[Json]) -> None:
    used = {url.removeprefix(US_CORE_PREFIX) for url in _claimed_profiles(resources)}

    expected = {
        "us-core-patient", "us-core-encounter", "us-core-condition", "us-core-observation-lab",
        "us-core-smokingstatus", "us-core-pulse-oximetry", "pediatric-bmi-for-age",
        "us-core-medicationrequest", "us-core-procedure", "us-core-allergyintolerance",
        "us-core-immunization", "us-core-documentreference", "us-core-diagnosticreport-lab",
        "us-core-diagnosticreport-note", "us-core-careplan", "us-core-careteam",
        "us-core-goal", "us-core-organization", "us-core-practitioner",
        "us-core-practitionerrole", "us-core-location",
    }  # fmt: skip
    assert expected <= used


# --- clinical content ---------------------------------------------------------------------


def _of_type(resources: list[Json], resource_type: str) -> list[Json]:
    return [resource for resource in resources if resource["resourceType"] == resource_type]


def _codes(concept: Json) -> set[tuple[str, str]]:
    return {(coding["system"], coding["code"]) for coding in concept.get("coding", [])}


LOINC = "http://loinc.org"


def test_every_coding_uses_a_standard_or_hl7_code_system(resources: list[Json]) -> None:
    systems = {
        node["system"]
        for node in _walk(resources)
        if isinstance(node, dict) and "code" in node and isinstance(node.get("system"), str)
        and "value" not in node
    }  # fmt: skip
    hl7 = {s for s in systems if s.startswith("http://terminology.hl7.org/CodeSystem/")}

    assert systems - hl7 <= STANDARD_SYSTEMS


def test_organizations_and_practitioners_carry_valid_npis(resources: list[Json]) -> None:
    for resource in _of_type(resources, "Organization") + _of_type(resources, "Practitioner"):
        (identifier,) = resource["identifier"]
        assert identifier["system"] == "http://hl7.org/fhir/sid/us-npi"
        assert npi(identifier["value"][:9]) == identifier["value"]


def test_npi_check_digit_follows_the_luhn_rule_with_the_80840_prefix() -> None:
    # CMS's worked example: 123456789 -> check digit 3.
    assert npi("123456789") == "1234567893"


def test_patients_have_mrns_and_the_demographics_us_core_asks_for(
    resources: list[Json],
) -> None:
    for patient in _of_type(resources, "Patient"):
        (mrn,) = patient["identifier"]
        assert _codes(mrn["type"]) == {("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")}
        assert patient["telecom"] and patient["address"] and patient["birthDate"]
        assert (
            patient["communication"][0]["language"]["coding"][0]["system"] == "urn:ietf:bcp:47"
        )


def test_cohort_has_a_deceased_patient_and_a_child(resources: list[Json]) -> None:
    patients = _of_type(resources, "Patient")

    assert any("deceasedDateTime" in patient for patient in patients)
    assert any(patient["birthDate"] >= "2010" for patient in patients)


def test_primary_cancers_are_coded_in_snomed_and_icd10_with_stage(
    resources: list[Json],
) -> None:
    cancers = [c for c in _of_type(resources, "Condition") if c["id"].endswith("-cancer")]

    assert len(cancers) == len(DEMO_PATIENT_IDS)
    for cancer in cancers:
        systems = {system for system, _ in _codes(cancer["code"])}
        assert systems == {"http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"}
        assert cancer["bodySite"] and cancer["onsetDateTime"] and cancer["stage"][0]["summary"]
    assert sum("assessment" in cancer["stage"][0] for cancer in cancers) >= 9


def test_conditions_use_both_us_core_categories(resources: list[Json]) -> None:
    categories = {
        coding["code"]
        for condition in _of_type(resources, "Condition")
        for category in condition["category"]
        for coding in category["coding"]
    }

    assert categories == {"problem-list-item", "encounter-diagnosis"}


def test_stage_groups_have_tnm_members(resources: list[Json]) -> None:
    observations = {o["id"]: o for o in _of_type(resources, "Observation")}
    groups = [o for o in observations.values() if o["id"].endswith("-stage-group")]

    assert groups
    for group in groups:
        members = [observations[r["reference"].split("/")[1]] for r in group["hasMember"]]
        member_codes = {code for m in members for _, code in _codes(m["code"])}
        assert member_codes in (
            {"21905-5", "21906-3", "21907-1"},
            {"21899-0", "21900-6", "21901-4"},
        )


def test_vital_signs_carry_the_category_and_their_loinc_codes(resources: list[Json]) -> None:
    vitals = [
        o for o in _of_type(resources, "Observation")
        if any(("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs")
               in _codes(category) for category in o["category"])
    ]  # fmt: skip
    codes = Counter(
        code for o in vitals for system, code in _codes(o["code"]) if system == LOINC
    )

    for code in ("85354-9", "8867-4", "9279-1", "8310-5", "29463-7", "8302-2", "39156-5"):
        assert codes[code] > 0, code
    assert codes["59408-5"] == codes["2708-6"] > 0
    for pressure in (o for o in vitals if (LOINC, "85354-9") in _codes(o["code"])):
        components = {
            next(iter(_codes(c["code"])))[1]: c["valueQuantity"] for c in pressure["component"]
        }
        assert set(components) == {"8480-6", "8462-4"}
        assert {q["code"] for q in components.values()} == {"mm[Hg]"}


def test_smoking_status_and_ecog_observations_are_present(resources: list[Json]) -> None:
    codes = Counter(
        code for o in _of_type(resources, "Observation") for _, code in _codes(o["code"])
    )

    assert codes["72166-2"] == len(DEMO_PATIENT_IDS)
    assert codes["89247-1"] > len(DEMO_PATIENT_IDS)


def test_lab_interpretations_agree_with_reference_ranges(resources: list[Json]) -> None:
    labs = [o for o in _of_type(resources, "Observation") if "referenceRange" in o]

    assert len(labs) > 100
    for lab in labs:
        value, limits = lab["valueQuantity"], lab["referenceRange"][0]
        flag = next(iter(_codes(lab["interpretation"][0])))[1]
        expected = "N"
        if "low" in limits and value["value"] < limits["low"]["value"]:
            expected = "L"
        if value["value"] > limits["high"]["value"]:
            expected = "H"
        assert flag == expected, lab["id"]
        assert value["system"] == "http://unitsofmeasure.org"


def test_lab_reports_group_their_results(resources: list[Json]) -> None:
    observations = {o["id"] for o in _of_type(resources, "Observation")}
    lab_reports = [r for r in _of_type(resources, "DiagnosticReport") if "result" in r]

    assert lab_reports
    for report in lab_reports:
        assert {r["reference"].split("/")[1] for r in report["result"]} <= observations


def test_radiotherapy_courses_record_total_dose_and_fractions(resources: list[Json]) -> None:
    courses = [
        p for p in _of_type(resources, "Procedure")
        if ("http://snomed.info/sct", "33195004") in _codes(p["code"])
    ]  # fmt: skip

    assert len(courses) >= 10
    for course in courses:
        assert course["performedPeriod"]["start"] < course["performedPeriod"]["end"]
        assert course["bodySite"]
        assert re.search(r"Total dose [\d.]+ Gy in \d+ fractions", course["note"][0]["text"])


def test_medication_requests_are_rxnorm_orders_with_dosage_text(resources: list[Json]) -> None:
    for request in _of_type(resources, "MedicationRequest"):
        (coding,) = request["medicationCodeableConcept"]["coding"]
        assert coding["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
        assert request["intent"] == "order"
        assert request["dosageInstruction"][0]["text"]
    statuses = {r["status"] for r in _of_type(resources, "MedicationRequest")}
    assert {"active", "completed", "stopped"} <= statuses


def test_clinical_notes_decode_to_text(resources: list[Json]) -> None:
    for document in _of_type(resources, "DocumentReference"):
        attachment = document["content"][0]["attachment"]
        text = base64.b64decode(attachment["data"], validate=True).decode("utf-8")
        assert "Signed:" in text
        assert document["context"]["encounter"] and document["context"]["period"]


def test_care_plans_carry_a_narrative_and_the_assess_plan_category(
    resources: list[Json],
) -> None:
    for plan in _of_type(resources, "CarePlan"):
        assert plan["text"]["status"] == "generated"
        assert plan["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')


def test_care_teams_name_a_role_for_every_participant(resources: list[Json]) -> None:
    for team in _of_type(resources, "CareTeam"):
        assert len(team["participant"]) >= 3
        assert all(p["role"] and p["member"] for p in team["participant"])


def test_goals_have_a_due_date(resources: list[Json]) -> None:
    for goal in _of_type(resources, "Goal"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", goal["target"][0]["dueDate"])


def test_date_times_carry_both_eastern_offsets_and_utc(resources: list[Json]) -> None:
    text = json.dumps(resources)

    assert re.search(r'T\d{2}:\d{2}:\d{2}-05:00"', text)
    assert re.search(r'T\d{2}:\d{2}:\d{2}-04:00"', text)
    assert re.search(r'T\d{2}:\d{2}:\d{2}Z"', text)


def test_dates_spread_over_years_and_end_before_the_anchor(resources: list[Json]) -> None:
    encounter_starts = [e["period"]["start"] for e in _of_type(resources, "Encounter")]

    assert min(encounter_starts) < "2022" and max(encounter_starts) < "2025-01-15"


# --- originality --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_strings() -> tuple[set[str], set[str], set[str]]:
    """Every string in the shared data, plus its people's given and family names."""
    strings: set[str] = set()
    given: set[str] = set()
    family: set[str] = set()
    for path in SHARED_DATA.rglob("*"):
        if path.suffix == ".json":
            documents = [json.loads(path.read_text())]
        elif path.suffix == ".ndjson":
            documents = [json.loads(line) for line in path.read_text().splitlines() if line]
        else:
            continue
        for node in _walk(documents):
            if isinstance(node, str):
                strings.add(node)
            elif isinstance(node, dict) and isinstance(node.get("family"), str):
                # Synthea appends digits to names ("Name123"): compare without them.
                family.add(re.sub(r"\d", "", node["family"]))
                given.update(re.sub(r"\d", "", name) for name in node.get("given", []))
    return strings, given, family


def test_no_name_is_taken_from_the_shared_data(
    resources: list[Json], shared_strings: tuple[set[str], set[str], set[str]]
) -> None:
    _, given, family = shared_strings
    names = [
        name
        for resource in _of_type(resources, "Patient") + _of_type(resources, "Practitioner")
        for name in resource["name"]
    ]

    assert {name["family"] for name in names} & family == set()
    assert {g for name in names for g in name["given"]} & given == set()


def test_no_invented_text_is_copied_from_the_shared_data(
    resources: list[Json], shared_strings: tuple[set[str], set[str], set[str]]
) -> None:
    strings, _, _ = shared_strings
    ours = set()
    for node in _walk(resources):
        if not isinstance(node, dict):
            continue
        for key in ("line", "text", "div", "data", "description", "title", "name", "value"):
            value = node.get(key)
            values = value if isinstance(value, list) else [value]
            ours.update(v for v in values if isinstance(v, str) and len(v) >= 12)
    # Code displays (and CodeableConcept.text repeating them) are terminology, shared by
    # design; invented content (addresses, names, notes, narratives, telecoms,
    # identifiers) must not coincide with anyone else's.
    displays = {
        node["display"]
        for node in _walk(resources)
        if isinstance(node, dict) and "display" in node
    }

    assert (ours - displays) & strings == set()


# --- loading ------------------------------------------------------------------------------


def test_loading_the_cohort_twice_leaves_one_copy_of_each_resource(engine: Engine) -> None:
    # The shared resources and two patients keep the run short; the store may annotate
    # what it is given, so these are fresh copies.
    bundles = list(demo_bundles())[:3]
    store = Store(engine)
    for _ in range(2):
        for bundle in bundles:
            with store.writer() as writer:
                writer.put_many([entry["resource"] for entry in bundle["entry"]])

    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(schema.resource)).scalar_one()
    assert count == sum(len(bundle["entry"]) for bundle in bundles)
    stored = store.read("Patient", DEMO_PATIENT_IDS[0])
    assert stored is not None and stored.parsed()["id"] == DEMO_PATIENT_IDS[0]
