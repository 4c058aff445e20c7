"""Request body checks: ids and element shapes (R4 json.html, datatypes.html#id)."""

from __future__ import annotations

import pytest

from isocenter.fhir.bodies import check_id, check_shape, element_shapes
from isocenter.outcomes import OperationOutcomeError


@pytest.mark.parametrize("id", ["a", "A-1.b", "0" * 64, "123e4567-e89b-12d3-a456-426614174000"])
def test_valid_ids_pass(id: str) -> None:
    assert check_id(id) == id


@pytest.mark.parametrize("id", ["", "a_b", "a b", "0" * 65, "ü", "a/b"])
def test_malformed_ids_are_400(id: str) -> None:
    with pytest.raises(OperationOutcomeError) as raised:
        check_id(id)
    assert raised.value.status == 400


def test_shapes_know_repeating_and_primitive_elements() -> None:
    shapes = element_shapes()
    assert shapes["Patient"]["name"] == ["object", True]
    assert shapes["Patient"]["active"] == ["boolean", False]
    assert shapes["Observation"]["valueQuantity"] == ["object", False]
    assert shapes["Observation"]["valueInteger"] == ["number", False]
    assert len(shapes) == 145


def test_unknown_elements_and_extensions_pass() -> None:
    check_shape({"resourceType": "Patient", "_birthDate": {"id": "x"}, "custom": 1})


def test_a_boolean_is_not_a_number() -> None:
    with pytest.raises(OperationOutcomeError):
        check_shape({"resourceType": "Observation", "valueInteger": True})
