"""_summary and _elements on returned resources (R4 search.html#summary, #elements)."""

from __future__ import annotations

from typing import Any

import pytest

from isocenter.fhir.summary import (
    SUBSETTED,
    mandatory_elements,
    subset,
    summary_elements,
)
from tests.fhir.conftest import Client, assert_outcome, put

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "meta": {"versionId": "1"},
    "text": {"status": "generated", "div": "<div>x</div>"},
    "status": "final",
    "category": [{"text": "laboratory"}],
    "code": {"text": "Hemoglobin"},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2020-01-01",
    "valueQuantity": {"value": 13.2, "unit": "g/dL"},
    "interpretation": [{"text": "normal"}],
    "note": [{"text": "fasting"}],
}


def test_summary_elements_come_from_the_r4_definitions() -> None:
    assert {"id", "meta", "status", "code", "subject", "valueQuantity"} <= summary_elements(
        "Observation"
    )
    assert "note" not in summary_elements("Observation")
    assert "deceasedBoolean" in summary_elements("Patient")
    assert mandatory_elements("Observation") == {"status", "code"}


def test_summary_true_keeps_summary_elements_and_tags_subsetted() -> None:
    reduced = subset(OBSERVATION, "true", None)
    assert set(reduced) == {
        "resourceType", "id", "meta", "status", "code", "subject", "effectiveDateTime",
        "valueQuantity",
    }  # fmt: skip
    assert reduced["meta"]["tag"] == [SUBSETTED]
    assert reduced["meta"]["versionId"] == "1"


def test_summary_text_keeps_text_id_meta_and_mandatory_elements() -> None:
    reduced = subset(OBSERVATION, "text", None)
    assert set(reduced) == {"resourceType", "id", "meta", "text", "status", "code"}


def test_summary_data_drops_only_text() -> None:
    reduced = subset(OBSERVATION, "data", None)
    assert set(reduced) == set(OBSERVATION) - {"text"}
    assert reduced["meta"]["tag"] == [SUBSETTED]


def test_summary_false_changes_nothing() -> None:
    assert subset(OBSERVATION, "false", None) is OBSERVATION


def test_elements_keeps_named_and_mandatory_elements_and_choice_types() -> None:
    reduced = subset(OBSERVATION, None, ["value", "note"])
    assert set(reduced) == {
        "resourceType", "id", "meta", "status", "code", "valueQuantity", "note",
    }  # fmt: skip


def test_subset_does_not_change_the_input() -> None:
    subset(OBSERVATION, "true", None)
    assert "tag" not in OBSERVATION["meta"]


def test_read_with_summary_true(client: Client) -> None:
    put(client, OBSERVATION)
    body = client.get("/fhir/Observation/o1?_summary=true").json()
    assert "note" not in body and body["valueQuantity"]["value"] == 13.2
    assert body["meta"]["tag"][-1]["code"] == "SUBSETTED"


def test_read_with_elements(client: Client) -> None:
    put(client, OBSERVATION)
    body = client.get("/fhir/Observation/o1?_elements=subject").json()
    assert set(body) == {"resourceType", "id", "meta", "status", "code", "subject"}


@pytest.mark.parametrize("value", ["yes", "TRUE", ""])
def test_read_with_an_unknown_summary_value_is_400(client: Client, value: str) -> None:
    put(client, OBSERVATION)
    assert_outcome(client.get(f"/fhir/Observation/o1?_summary={value}"), 400, "invalid")
