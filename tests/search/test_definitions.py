"""The search parameter registry and the data file it is built from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from isocenter.search.definitions import SearchParameter, load_registry
from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
DATA_FILE = REPO / "isocenter" / "search" / "data" / "search-parameters.json"
DEFINITIONS = SHARED_DATA / "definitions"


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


class TestDataFile:
    def test_the_committed_file_is_what_the_build_script_writes(self, tmp_path: Path) -> None:
        output = tmp_path / "search-parameters.json"
        script = REPO / "tools" / "build_search_parameters.py"
        subprocess.run(
            [sys.executable, str(script), str(DEFINITIONS), "--output", str(output)],
            check=True,
        )
        assert output.read_bytes() == DATA_FILE.read_bytes()

    def test_all_1375_r4_parameters_are_read(self, data: dict) -> None:
        core = [p for p in data["parameters"] if p["package"] == "hl7.fhir.r4.core#4.0.1"]
        assert len(core) == 1375

    def test_only_us_core_race_and_ethnicity_are_added(self, data: dict) -> None:
        added = [p for p in data["parameters"] if p["package"] == "hl7.fhir.us.core#3.1.1"]
        assert sorted(p["code"] for p in added) == ["ethnicity", "race"]

    def test_source_names_packages_and_hashes_every_input(self, data: dict) -> None:
        source = data["source"]
        assert source["packages"] == ["hl7.fhir.r4.core#4.0.1", "hl7.fhir.us.core#3.1.1"]
        assert len(source["files"]) == 2 + 74
        assert all(len(digest) == 64 for digest in source["files"].values())

    def test_union_expressions_are_split_per_base(self, data: dict) -> None:
        patient = next(p for p in data["parameters"] if p["url"].endswith("/clinical-patient"))
        assert patient["expression"]["AllergyIntolerance"] == "AllergyIntolerance.patient"
        assert patient["expression"]["Observation"] == (
            "Observation.subject.where(resolve() is Patient)"
        )

    def test_untyped_insurance_plan_name_is_read_from_its_base(self, data: dict) -> None:
        name = next(p for p in data["parameters"] if p["url"].endswith("/InsurancePlan-name"))
        assert name["expression"] == {
            "InsurancePlan": "InsurancePlan.name | InsurancePlan.alias"
        }


class TestRegistry:
    def test_every_r4_resource_type_is_known(self) -> None:
        types = load_registry().resource_types()
        assert len(types) == 145
        assert {"Patient", "Observation", "Binary", "Bundle", "VisionPrescription"} <= types
        assert "Resource" not in types and "DomainResource" not in types

    def test_id_and_last_updated_apply_to_every_type(self) -> None:
        registry = load_registry()
        for resource_type in registry.resource_types():
            identity = registry.get(resource_type, "_id")
            updated = registry.get(resource_type, "_lastUpdated")
            assert identity is not None and identity.supported
            assert updated is not None and updated.supported and updated.type == "date"

    def test_resource_level_parameters_are_everywhere(self) -> None:
        codes = set(load_registry().parameters("Observation"))
        assert {"_tag", "_profile", "_security", "_source", "_text", "_content"} <= codes

    def test_text_is_not_a_parameter_of_non_domain_resources(self) -> None:
        registry = load_registry()
        assert registry.get("Bundle", "_text") is None
        assert registry.get("Patient", "_text") is not None

    def test_us_core_race_is_a_supported_patient_token(self) -> None:
        race = load_registry().get("Patient", "race")
        assert race is not None
        assert race.type == "token" and race.supported
        assert race.url == "http://hl7.org/fhir/us/core/SearchParameter/us-core-race"
        assert load_registry().get("Patient", "ethnicity") is not None

    def test_a_shared_parameter_keeps_only_this_types_expression(self) -> None:
        patient = load_registry().get("Condition", "patient")
        assert patient == SearchParameter(
            code="patient",
            type="reference",
            resource_type="Condition",
            expression="Condition.subject.where(resolve() is Patient)",
            targets=("Patient", "Group"),
            url="http://hl7.org/fhir/SearchParameter/clinical-patient",
            supported=True,
        )

    @pytest.mark.parametrize(
        ("resource_type", "code"),
        [
            ("Observation", "code-value-quantity"),
            ("Observation", "_text"),
            ("Observation", "_content"),
            ("Observation", "_query"),
            ("Patient", "_text"),
        ],
    )
    def test_composite_and_special_and_expressionless_are_unsupported(
        self, resource_type: str, code: str
    ) -> None:
        parameter = load_registry().get(resource_type, code)
        assert parameter is not None and not parameter.supported

    def test_unknown_codes_and_types_answer_none(self) -> None:
        registry = load_registry()
        assert registry.get("Patient", "no-such-param") is None
        assert registry.get("NoSuchType", "_id") is None
        assert registry.parameters("NoSuchType") == {}

    def test_the_registry_is_loaded_once(self) -> None:
        assert load_registry() is load_registry()


class TestPatientCompartment:
    def test_observation_is_in_by_subject_and_performer(self) -> None:
        assert load_registry().compartment_params("Observation") == ("subject", "performer")

    def test_patient_is_in_by_link(self) -> None:
        assert load_registry().compartment_params("Patient") == ("link",)

    @pytest.mark.parametrize("resource_type", ["Device", "Practitioner", "Organization"])
    def test_shared_resources_are_not_in_it(self, resource_type: str) -> None:
        assert load_registry().compartment_params(resource_type) == ()

    def test_66_types_have_compartment_params(self) -> None:
        registry = load_registry()
        members = [t for t in registry.resource_types() if registry.compartment_params(t)]
        assert len(members) == 66
