"""Quantity search (R4 search 3.1.1.4.9, http://hl7.org/fhir/R4/search.html#quantity):
``[prefix]number[|system|code]``; ``eq`` and ``ne`` use the implicit precision range of
the number (3.1.1.4.3 / 3.1.1.4.6), the other prefixes the number itself. Values are the
US Core examples' Observation.valueQuantity (hand-listed in the module below)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from tests.search.search_data import DATABASES, ids, loaded_engine, us_core_files

UCUM = "http://unitsofmeasure.org"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, us_core_files())


def values(search: SearchEngine, value: str) -> list[str]:
    return ids(search.search("Observation", [("value-quantity", value)]))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # heart-rate 44.0 /min
        ("44", ["heart-rate"]),
        # pediatric-bmi-example and pediatric-wt-example: 65 %
        ("65", ["pediatric-bmi-example", "pediatric-wt-example"]),
        # "1" is [0.5, 1.5): serum-creatinine 1.0 and usg 1.017; "1.00" is [0.995, 1.005).
        ("1", ["serum-creatinine", "usg"]),
        ("1.0", ["serum-creatinine", "usg"]),
        ("1.00", ["serum-creatinine"]),
        ("eq6.0", ["urine-ph"]),
        # serum-chloride 105, serum-sodium 137, height 111.506 cm
        ("gt100", ["height", "serum-chloride", "serum-sodium"]),
        ("sa100", ["height", "serum-chloride", "serum-sodium"]),
        ("le1.017", ["serum-creatinine", "urobilinogen", "usg"]),
        ("lt1.017", ["serum-creatinine", "urobilinogen"]),
        ("eb1.017", ["serum-creatinine", "urobilinogen"]),
        ("ge137", ["serum-sodium"]),
        # ap: within 10% of 100, i.e. [90, 110]: chloride 105, oxygen 99 and satO2 95.
        ("ap100", ["oxygen-saturation", "satO2-fiO2", "serum-chloride"]),
    ],
)
def test_prefixes_and_precision(search: SearchEngine, value: str, expected: list[str]) -> None:
    assert values(search, value) == expected


def test_system_and_code_narrow_the_match(search: SearchEngine) -> None:
    assert values(search, f"gt100|{UCUM}|cm") == ["height"]
    assert values(search, "gt100||cm") == ["height"]
    assert values(search, f"lt30|{UCUM}|cm") == ["length"]
    assert values(search, f"5.4|{UCUM}|mmol/L") == ["serum-potassium"]
    assert values(search, "5.4|http://example.org|mmol/L") == []


def test_unit_counts_as_code_when_there_is_no_code(search: SearchEngine) -> None:
    # blood-glucose has unit mg/dL and no code; urobilinogen has code mg/dL.
    assert values(search, "gt0||mg/dL") == [
        "blood-glucose",
        "bun",
        "serum-calcium",
        "serum-creatinine",
        "serum-total-bilirubin",
        "urobilinogen",
    ]


def test_ne_uses_the_precision_range(search: SearchEngine) -> None:
    # Percentages: ofc 82, oxygen 99 (code %), satO2 95, neutrophils 40 (unit %), and the
    # two pediatric ones at 65, which `ne65` leaves out.
    assert values(search, "ne65||%") == [
        "neutrophils",
        "ofc-percentile",
        "oxygen-saturation",
        "satO2-fiO2",
    ]


def test_missing(search: SearchEngine) -> None:
    params = [("category", "vital-signs"), ("value-quantity:missing", "true")]
    assert ids(search.search("Observation", params)) == [
        "blood-pressure",
        "bp-data-absent",
        "vitals-panel",
    ]


@pytest.mark.parametrize("value", ["abc", "5|mg", "gt", "1e", "NaN", "Infinity"])
def test_malformed_quantities_are_refused(search: SearchEngine, value: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        values(search, value)
    assert caught.value.status == 400
