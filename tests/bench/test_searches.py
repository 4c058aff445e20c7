"""Search cases: real values from the Synthea bundles and totals worked out from them."""

from __future__ import annotations

import random

import pytest

from bench.multiplier import SourceBundle, copy_id, read_sources
from bench.searches import QUERY_KINDS, Population, patient_facts, percentile
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def sources() -> list[SourceBundle]:
    return read_sources(SHARED_DATA)


def _population(sources: list[SourceBundle]) -> Population:
    patients = [patient_facts(source) for source in sources]
    return Population(patients, 31, {facts.id: 31 for facts in patients})


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 201)]
    assert percentile(values, 50) == 100.0
    assert percentile(values, 99) == 198.0
    assert percentile([3.0], 99) == 3.0


def test_facts_count_the_patients_own_resources(sources: list[SourceBundle]) -> None:
    # Abram Lemke (shared data README 1a): 7 Conditions, 101 laboratory Observations.
    abram = next(s for s in sources if s.name.startswith("Abram_Lemke"))
    facts = patient_facts(abram)
    assert facts.families == ("Lemke",)
    assert facts.conditions == 7
    assert facts.laboratory_observations == 101
    assert facts.active_medication_requests == 0
    assert sum(facts.code_years.values()) > 0


def test_every_query_kind_names_a_patient_of_the_chosen_copy(
    sources: list[SourceBundle],
) -> None:
    people = _population(sources)
    for kind in QUERY_KINDS:
        eligible = [facts for facts in people.patients if kind.applies(facts)]
        case = kind.case(eligible[0], 4, random.Random(1), people)
        params = dict(case.params)
        if kind.resource_type != "Patient":
            assert params["patient"] == copy_id(4, eligible[0].id)
        assert case.expected_total >= 0


def test_a_family_name_is_expected_once_per_copy(sources: list[SourceBundle]) -> None:
    people = _population(sources)
    family_kind = next(kind for kind in QUERY_KINDS if kind.resource_type == "Patient")
    lemke = next(facts for facts in people.patients if facts.families == ("Lemke",))
    assert family_kind.case(lemke, 0, random.Random(1), people).expected_total == 31
