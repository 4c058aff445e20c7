"""Patient compartment membership (R4 compartmentdefinition-patient.html)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from isocenter.search.compartment import patient_compartments
from isocenter.search.definitions import load_registry
from isocenter.search.indexer import make_indexer
from tests.conftest import SHARED_DATA

BASE = "https://isocenter.example/fhir"


def _patients(resource: dict[str, Any], fhir_base_url: str | None = None) -> set[str]:
    return make_indexer(load_registry(), fhir_base_url)(resource).patients


class TestPatients:
    def test_a_patient_is_in_its_own_compartment(self) -> None:
        assert _patients({"resourceType": "Patient", "id": "p1"}) == {"p1"}

    def test_a_patient_is_in_the_compartments_of_the_patients_it_links(self) -> None:
        patient = {
            "resourceType": "Patient",
            "id": "p1",
            "link": [
                {"other": {"reference": "Patient/p2"}, "type": "replaces"},
                {"other": {"reference": "RelatedPerson/r1"}, "type": "seealso"},
            ],
        }
        assert _patients(patient) == {"p1", "p2"}


class TestMembers:
    def test_an_observation_is_in_by_subject_and_performer(self) -> None:
        observation = {
            "resourceType": "Observation",
            "subject": {"reference": "Patient/p1"},
            "performer": [{"reference": "Patient/p2"}, {"reference": "Practitioner/d1"}],
        }
        assert _patients(observation) == {"p1", "p2"}

    def test_a_group_subject_puts_nothing_in_a_compartment(self) -> None:
        observation = {"resourceType": "Observation", "subject": {"reference": "Group/g1"}}
        assert _patients(observation) == set()

    def test_a_reference_by_identifier_only_puts_nothing_in_a_compartment(self) -> None:
        condition = {"resourceType": "Condition", "subject": {"identifier": {"value": "1"}}}
        assert _patients(condition) == set()

    @pytest.mark.parametrize(
        "resource",
        [
            {"resourceType": "Practitioner", "id": "d1"},
            {"resourceType": "Organization", "id": "o1"},
            {"resourceType": "Device", "patient": {"reference": "Patient/p1"}},
        ],
    )
    def test_shared_resources_and_devices_are_in_no_compartment(
        self, resource: dict[str, Any]
    ) -> None:
        assert _patients(resource) == set()


class TestAbsoluteReferences:
    def test_another_servers_patient_is_not_ours(self) -> None:
        observation = {
            "resourceType": "Observation",
            "subject": {"reference": "http://other.example/fhir/Patient/p1"},
        }
        assert _patients(observation, BASE) == set()

    def test_our_own_absolute_url_counts_when_the_base_is_known(self) -> None:
        observation = {
            "resourceType": "Observation",
            "subject": {"reference": f"{BASE}/Patient/p1"},
        }
        assert _patients(observation, BASE) == {"p1"}
        assert _patients(observation) == set()


class TestRows:
    def test_only_compartment_params_with_patient_targets_count(self) -> None:
        rows = [
            {"param": "subject", "target_type": "Patient", "target_id": "a", "url": None},
            {"param": "subject", "target_type": "Group", "target_id": "g", "url": None},
            {"param": "encounter", "target_type": "Patient", "target_id": "b", "url": None},
        ]
        resource = {"resourceType": "Observation"}
        assert patient_compartments(resource, rows, frozenset({"subject"})) == {"a"}


class TestSharedData:
    def test_every_us_core_patient_resource_is_in_amy_shaws_compartment(self) -> None:
        indexer = make_indexer(load_registry())
        members = {}
        for path in sorted((SHARED_DATA / "us-core-examples").glob("*.json")):
            resource = orjson.loads(path.read_bytes())
            if resource["resourceType"] != "Bundle":
                members[path.stem] = indexer(resource).patients
        assert members["Patient-example"] == {"example"}
        assert members["Observation-bmi"] == {"example"}
        assert members["Encounter-example-1"] == {"example"}
        assert members["Patient-child-example"] == {"child-example"}
        assert members["Practitioner-practitioner-1"] == set()
        assert members["Device-udi-1"] == set()
        in_amy = {name for name, patients in members.items() if "example" in patients}
        assert len(in_amy) > 50

    def test_mcode_jenny_m_has_her_resources(self) -> None:
        indexer = make_indexer(load_registry())
        folder = SHARED_DATA / "mcode-examples" / "mcode-stu4"
        jenny = [
            path.stem
            for path in sorted(folder.glob("*.json"))
            if "cancer-patient-jenny-m" in indexer(orjson.loads(path.read_bytes())).patients
        ]
        # The data README counts 51 resources that refer to her; each does so through a
        # compartment param. With her own Patient resource that makes 52.
        assert "Patient-cancer-patient-jenny-m" in jenny
        assert len(jenny) == 52
