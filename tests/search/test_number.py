"""Number search (R4 search 3.1.1.4.3, http://hl7.org/fhir/R4/search.html#number).

The shared data has no resource with a number search parameter, so these RiskAssessments
(``probability`` = RiskAssessment.prediction.probability) are made here. "0.1" covers
[0.05, 0.15), "0.10" covers [0.095, 0.105) and "1e-1" also [0.05, 0.15): half a unit of
the last significant digit either side, the upper end open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from tests.search.search_data import DATABASES, ids, loaded_engine


def risk(id: str, *probabilities: float) -> dict[str, Any]:
    return {
        "resourceType": "RiskAssessment",
        "id": id,
        "status": "final",
        "subject": {"reference": "Patient/example"},
        "prediction": [{"probabilityDecimal": p} for p in probabilities],
    }


RISKS = [
    risk("two-percent", 0.02),
    risk("two-and-a-half", 0.025),
    risk("tenth", 0.1),
    risk("fourteen", 0.14),
    risk("half-and-more", 0.5, 0.9),
    risk("none"),
]


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, [], RISKS)


def probability(search: SearchEngine, value: str) -> list[str]:
    return ids(search.search("RiskAssessment", [("probability", value)]))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.02", ["two-percent"]),
        ("0.1", ["fourteen", "tenth"]),
        ("0.10", ["tenth"]),
        ("1e-1", ["fourteen", "tenth"]),
        ("gt0.1", ["fourteen", "half-and-more"]),
        ("ge0.1", ["fourteen", "half-and-more", "tenth"]),
        ("lt0.025", ["two-percent"]),
        ("le0.025", ["two-and-a-half", "two-percent"]),
        ("sa0.5", ["half-and-more"]),
        ("eb0.02", []),
        # ne: some prediction outside [0.05, 0.15).
        ("ne0.1", ["half-and-more", "two-and-a-half", "two-percent"]),
        # ap: within 10% of 0.5, or its precision range [0.45, 0.55).
        ("ap0.5", ["half-and-more"]),
        ("0.02,0.9", ["half-and-more", "two-percent"]),
    ],
)
def test_prefixes_and_precision(search: SearchEngine, value: str, expected: list[str]) -> None:
    assert probability(search, value) == sorted(expected)


def test_repeats_and_on_a_resource_with_several_values(search: SearchEngine) -> None:
    params = [("probability", "gt0.8"), ("probability", "lt0.6")]
    assert ids(search.search("RiskAssessment", params)) == ["half-and-more"]


def test_missing(search: SearchEngine) -> None:
    # An empty value constrains nothing.
    assert len(probability(search, "")) == len(RISKS)
    missing = search.search("RiskAssessment", [("probability:missing", "true")])
    assert ids(missing) == ["none"]


@pytest.mark.parametrize("value", ["x", "0.1.2", "gt", "--1"])
def test_malformed_numbers_are_refused(search: SearchEngine, value: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        probability(search, value)
    assert caught.value.status == 400
