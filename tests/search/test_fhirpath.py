"""The fast FHIRPath evaluators, and their agreement with fhirpathpy on all shared data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from isocenter.search.definitions import COLUMN_PARAMETERS, load_registry
from isocenter.search.fhirpath import (
    Evaluate,
    compile_expression,
    compile_fast,
    compile_fhirpathpy,
    reference_parts,
    split_union,
)
from tests.conftest import SHARED_DATA

PATIENT_DATA_FOLDERS = ("synthea", "us-core-examples", "mcode-examples")


def shared_resources() -> Iterator[dict[str, Any]]:
    """Every resource in the shared patient data, Bundles and their entries alike."""
    for folder in PATIENT_DATA_FOLDERS:
        for path in sorted((SHARED_DATA / folder).rglob("*")):
            yield from _resources_in(path)


def _resources_in(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".json":
        yield from _with_entries(orjson.loads(path.read_bytes()))
    elif path.suffix == ".ndjson":
        for line in path.read_bytes().splitlines():
            if line.strip():
                yield from _with_entries(orjson.loads(line))


def _with_entries(resource: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(resource, dict) or "resourceType" not in resource:
        return  # the bulk export log lines
    yield resource
    for entry in resource.get("entry", ()) if resource["resourceType"] == "Bundle" else ():
        yield from _with_entries(entry.get("resource"))


def _values(resource: dict[str, Any], expression: str, resource_type: str) -> list[Any]:
    evaluate = compile_fast(expression, resource_type)
    assert evaluate is not None, expression
    return [value for _, value in evaluate(resource)]


def _types(resource: dict[str, Any], expression: str) -> list[str]:
    evaluate = compile_fast(expression, resource["resourceType"])
    assert evaluate is not None
    return [type_name for type_name, _ in evaluate(resource)]


OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "bp",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}], "text": "BP"},
    "subject": {"reference": "Patient/p1"},
    "performer": [
        {"reference": "Practitioner/dr"},
        {"reference": "http://other.example/fhir/Patient/p2/_history/3"},
        {"reference": "#contained"},
        {"identifier": {"value": "x"}},
    ],
    "effectiveDateTime": "2020-04-28T21:53:35-04:00",
    "_effectiveDateTime": {"extension": [{"url": "http://example.org/x"}]},
    "component": [
        {"code": {"text": "systolic"}, "valueQuantity": {"value": 120, "code": "mm[Hg]"}},
        {"code": {"text": "diastolic"}, "valueQuantity": {"value": 80, "code": "mm[Hg]"}},
        {"code": {"text": "note"}, "valueString": "sitting"},
    ],
    "meta": {"tag": [{"system": "urn:t", "code": "a"}], "profile": ["urn:profile"]},
}


class TestPaths:
    def test_a_plain_path_collects_through_lists(self) -> None:
        assert _values(OBSERVATION, "Observation.component.code.text", "Observation") == [
            "systolic",
            "diastolic",
            "note",
        ]

    def test_a_path_rooted_at_another_type_is_empty(self) -> None:
        assert _values(OBSERVATION, "Condition.code", "Observation") == []

    def test_resource_roots_apply_to_every_type(self) -> None:
        assert _values(OBSERVATION, "Resource.meta.profile", "Observation") == ["urn:profile"]

    def test_primitive_extensions_are_not_values(self) -> None:
        assert _values(OBSERVATION, "Observation.effective", "Observation") == [
            "2020-04-28T21:53:35-04:00"
        ]

    def test_null_entries_of_primitive_lists_are_skipped(self) -> None:
        patient = {"resourceType": "Patient", "name": [{"given": [None, "Ann"]}]}
        assert _values(patient, "Patient.name.given", "Patient") == ["Ann"]

    def test_unions_concatenate_their_terms(self) -> None:
        expression = "Observation.status | Observation.code.text"
        assert _values(OBSERVATION, expression, "Observation") == ["final", "BP"]

    def test_an_index_picks_from_the_whole_collection(self) -> None:
        bundle = {
            "resourceType": "Bundle",
            "entry": [{"resource": {"resourceType": "Composition", "id": "c"}}, {}],
        }
        assert _values(bundle, "Bundle.entry[0].resource", "Bundle") == [
            {"resourceType": "Composition", "id": "c"}
        ]
        assert _types(bundle, "Bundle.entry[0].resource") == ["Composition"]

    def test_first_takes_one_item(self) -> None:
        assert _values(OBSERVATION, "Observation.performer.first()", "Observation") == [
            {"reference": "Practitioner/dr"}
        ]


class TestChoiceTypes:
    def test_a_choice_element_is_found_under_its_typed_name(self) -> None:
        assert _types(OBSERVATION, "Observation.effective") == ["dateTime"]

    def test_as_picks_one_type_of_a_choice(self) -> None:
        expression = "(Observation.component.value as Quantity)"
        assert _values(OBSERVATION, expression, "Observation") == [
            {"value": 120, "code": "mm[Hg]"},
            {"value": 80, "code": "mm[Hg]"},
        ]

    def test_as_function_and_of_type_agree_with_the_operator(self) -> None:
        operator = _values(
            OBSERVATION, "(Observation.component.value as string)", "Observation"
        )
        function = _values(OBSERVATION, "Observation.component.value.as(string)", "Observation")
        of_type = _values(
            OBSERVATION, "Observation.component.value.ofType(string)", "Observation"
        )
        assert operator == function == of_type == ["sitting"]

    def test_as_function_picks_only_that_type(self) -> None:
        condition = {"resourceType": "Condition", "onsetAge": {"value": 40, "code": "a"}}
        assert _values(condition, "Condition.onset.as(Age)", "Condition") == [
            {"value": 40, "code": "a"}
        ]
        assert _values(condition, "Condition.onset.as(Range)", "Condition") == []

    def test_paths_continue_past_a_choice_per_type(self) -> None:
        patient = {
            "resourceType": "Patient",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                    "extension": [
                        {"url": "ombCategory", "valueCoding": {"code": "2106-3"}},
                        {"url": "text", "valueString": "White"},
                    ],
                }
            ],
        }
        expression = load_registry().get("Patient", "race").expression  # type: ignore[union-attr]
        assert _values(patient, expression, "Patient") == ["2106-3"]


class TestWhere:
    def test_resolve_is_checks_the_type_a_reference_names(self) -> None:
        expression = "Observation.performer.where(resolve() is Patient)"
        assert _values(OBSERVATION, expression, "Observation") == [
            {"reference": "http://other.example/fhir/Patient/p2/_history/3"}
        ]

    def test_where_compares_a_primitive_child(self) -> None:
        patient = {
            "resourceType": "Patient",
            "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "@"}],
        }
        expression = "Patient.telecom.where(system='email')"
        assert _values(patient, expression, "Patient") == [{"system": "email", "value": "@"}]


class TestReferenceParts:
    @pytest.mark.parametrize(
        ("reference", "expected"),
        [
            ("Patient/123", ("Patient", "123")),
            ("Patient/123/_history/2", ("Patient", "123")),
            ("http://x.example/fhir/Observation/a-b.c", ("Observation", "a-b.c")),
            ("urn:uuid:8666cd40-7af9-48c6-a1a6-86a161195542", None),
            ("#contained", None),
            ("Patient?identifier=x|1", None),
            ("patient/123", None),
        ],
    )
    def test_type_and_id_are_read_from_literal_references(
        self, reference: str, expected: tuple[str, str] | None
    ) -> None:
        assert reference_parts(reference) == expected


class TestCompilation:
    def test_every_supported_expression_but_deceased_compiles_fast(self) -> None:
        registry = load_registry()
        slow = {
            (resource_type, parameter.code)
            for resource_type in registry.resource_types()
            for parameter in registry.parameters(resource_type).values()
            if parameter.supported
            and parameter.expression
            and not compile_expression(parameter.expression, resource_type).fast
        }
        # `Patient.deceased.exists() and Patient.deceased != false` is left to fhirpathpy.
        assert slow == {("Patient", "deceased")}

    def test_the_fallback_still_answers(self) -> None:
        compiled = compile_expression(
            "Patient.deceased.exists() and Patient.deceased != false", "Patient"
        )
        assert compiled.evaluate({"resourceType": "Patient", "deceasedBoolean": True}) == [
            ("boolean", True)
        ]

    def test_top_level_keys_cover_every_choice(self) -> None:
        compiled = compile_expression("Observation.effective", "Observation")
        assert compiled.keys is not None
        assert {"effectiveDateTime", "effectivePeriod", "effectiveTiming"} <= compiled.keys

    def test_split_union_ignores_bars_in_brackets_and_strings(self) -> None:
        assert split_union("A.b.where(c = 'x|y') | (A.d | A.e)") == [
            "A.b.where(c = 'x|y')",
            "(A.d | A.e)",
        ]


# -- agreement with fhirpathpy on all shared data -------------------------------------

_SINGLETON_AS = "Expected singleton on left side of 'as'"
_AS_OPERATOR = re.compile(r"\((?P<path>[^()]+) as (?P<type>[A-Za-z]+)\)")


@cache
def _evaluators(
    resource_type: str,
) -> tuple[tuple[str, str, frozenset[str], Evaluate, Evaluate], ...]:
    registry = load_registry()
    found = []
    for parameter in registry.parameters(resource_type).values():
        if not parameter.supported or parameter.expression is None:
            continue
        if parameter.code in COLUMN_PARAMETERS:
            continue
        compiled = compile_expression(parameter.expression, resource_type)
        if compiled.fast:
            assert compiled.keys is not None
            slow = compile_fhirpathpy(parameter.expression, resource_type)
            found.append(
                (parameter.code, compiled.expression, compiled.keys, compiled.evaluate, slow)
            )
    return tuple(found)


def _canonical(values: list[Any]) -> set[str]:
    return {json.dumps(value, sort_keys=True, default=str) for value in values}


def _reference_values(
    expression: str, resource_type: str, slow: Evaluate, resource: dict
) -> Any:
    """fhirpathpy's values; where FHIRPath's `as` refuses a collection, per item.

    FHIRPath N1 `as` is defined on single items and fhirpathpy raises on more (every
    Observation with two components). A search parameter means "each value of that type",
    which is what ofType() says, so the expression is checked against that reading.
    """
    try:
        return slow(resource)
    except ValueError as error:
        if _SINGLETON_AS not in str(error):
            raise
    per_item = _AS_OPERATOR.sub(r"\g<path>.ofType(\g<type>)", expression)
    return compile_fhirpathpy(per_item, resource_type)(resource)


def test_fast_evaluators_agree_with_fhirpathpy_on_all_shared_data() -> None:
    """Same values (and types, where fhirpathpy reports one) for every supported parameter.

    FHIRPath unions drop duplicates and fhirpathpy loses the types of union members, so
    values are compared as sets and types only where fhirpathpy names one. A resource with
    none of the top-level elements an expression starts from has nothing for either
    evaluator to find (JSON names every element, choices by type), so fhirpathpy is spared
    those; that the fast evaluator finds nothing there is still checked.
    """
    mismatches = []
    resources = 0
    for resource in shared_resources():
        resources += 1
        resource_type = resource["resourceType"]
        for code, expression, keys, fast, slow in _evaluators(resource_type):
            ours = fast(resource)
            if keys.isdisjoint(resource):
                if ours:
                    mismatches.append((resource_type, resource.get("id"), code, ours, []))
                continue
            theirs = _reference_values(expression, resource_type, slow, resource)
            same_values = _canonical([v for _, v in ours]) == _canonical([v for _, v in theirs])
            typed = _canonical([t for t, _ in theirs if t])
            if not same_values or not typed <= _canonical([t for t, _ in ours]):
                mismatches.append((resource_type, resource.get("id"), code, ours, theirs))
    assert resources > 15_000
    assert mismatches[:5] == []
