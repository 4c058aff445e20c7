"""The package data in isocenter/fhir/data is what tools/build_fhir_data.py makes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "isocenter" / "fhir" / "data"


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_fhir_data", REPO / "tools" / "build_fhir_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_us_core_profiles_file_is_the_scripts_output(tmp_path: Path) -> None:
    script = build_script()
    definitions = SHARED_DATA / "definitions"
    compartment = definitions / "r4-core" / "CompartmentDefinition-patient.json"
    script.build(None, definitions / "us-core-3.1.1", tmp_path, compartment)
    built = (tmp_path / "us-core-profiles.json").read_text(encoding="utf-8")
    assert built == (DATA / "us-core-profiles.json").read_text(encoding="utf-8")


def test_us_core_profiles_cover_the_profiled_resource_types() -> None:
    profiles = json.loads((DATA / "us-core-profiles.json").read_text())["profiles"]
    assert len(profiles) == 20
    assert len(profiles["Observation"]) == 6
    assert all(
        url.startswith("http://hl7.org/fhir/us/core/")
        for urls in profiles.values()
        for url in urls
    )


def test_r4_facts_name_their_source_and_cover_every_r4_resource_type() -> None:
    compartment = SHARED_DATA / "definitions" / "r4-core" / "CompartmentDefinition-patient.json"
    r4_types = {entry["code"] for entry in json.loads(compartment.read_text())["resource"]}
    for name in ("summary-elements.json", "element-shapes.json"):
        facts = json.loads((DATA / name).read_text())
        assert "hl7.fhir.r4.core#4.0.1" in facts["source"]["package"]
        assert len(facts["source"]["sha256"]) == 64
    summary = json.loads((DATA / "summary-elements.json").read_text())["summary"]
    assert set(summary) == r4_types
