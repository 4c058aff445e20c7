"""Parsing search requests into plans (R4 search 3.1.1, http://hl7.org/fhir/R4/search.html).

No database here: what is accepted, refused (strict) or dropped (lenient), and the
canonical self-link parameters.
"""

from __future__ import annotations

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.definitions import load_registry
from isocenter.search.query import Chain, Has, Match, Missing, QueryParser
from isocenter.search.values import DateValue, ReferenceValue, TokenValue

BASE = "http://test.example/fhir"


@pytest.fixture(scope="module")
def parser() -> QueryParser:
    return QueryParser(load_registry(), BASE, default_count=50, max_count=1000)


def refused(parser: QueryParser, resource_type: str, params: list[tuple[str, str]]) -> str:
    with pytest.raises(OperationOutcomeError) as caught:
        parser.parse(resource_type, params)
    assert caught.value.status in (400, 404)
    return caught.value.code


def test_unknown_resource_type_is_not_found(parser: QueryParser) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        parser.parse("Patients", [])
    assert caught.value.status == 404


def test_unknown_parameter_is_refused_naming_it(parser: QueryParser) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        parser.parse("Patient", [("colour", "blue")])
    assert caught.value.code == "invalid"
    assert caught.value.expression == ["colour"]


def test_lenient_drops_unknown_unsupported_and_malformed(parser: QueryParser) -> None:
    # search.html#errors: with handling=lenient, bad parameters are ignored.
    params = [
        ("colour", "blue"),
        ("name:fuzzy", "x"),
        ("birthdate", "1987-13-01"),
        ("_text", "x"),
        ("name", "peter"),
    ]
    query = parser.parse("Patient", params, lenient=True)
    assert query.self_params == [("name", "peter")]
    assert len(query.criteria) == 1


@pytest.mark.parametrize(
    ("resource_type", "name", "value"),
    [
        ("Observation", "code-value-quantity", "http://loinc.org|8867-4$gt40"),
        ("Patient", "_text", "cancer"),
        ("Patient", "_content", "cancer"),
        ("Patient", "_filter", "name eq x"),
    ],
)
def test_composite_and_special_parameters_are_not_supported(
    parser: QueryParser, resource_type: str, name: str, value: str
) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        parser.parse(resource_type, [(name, value)])
    assert caught.value.status == 400
    assert caught.value.code == "not-supported"
    assert caught.value.expression == [name]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("birthdate", "1987-02-30"),
        ("birthdate", "xx1987"),
        ("gender:exact", "male"),
        ("name:missing", "maybe"),
        ("general-practitioner", "not a reference"),
        ("_count", "-1"),
        ("_count", "ten"),
        ("_total", "sometimes"),
        ("_summary", "short"),
        ("_sort", "colour"),
        ("_include", "Patient"),
        ("_include", "Patient:name"),
        ("_elements", "name,,!"),
        ("_sort:desc", "name"),
        ("_count:x", "5"),
    ],
)
def test_malformed_values_are_refused(parser: QueryParser, name: str, value: str) -> None:
    assert refused(parser, "Patient", [(name, value)]) == "invalid"


def test_result_parameters_for_the_http_layer_are_accepted_not_echoed(
    parser: QueryParser,
) -> None:
    query = parser.parse("Patient", [("_format", "json"), ("_pretty", "true")])
    assert query.self_params == []


def test_count_above_maximum_is_clamped_and_echoed_clamped(parser: QueryParser) -> None:
    query = parser.parse("Patient", [("_count", "5000")])
    assert query.count == 1000
    assert query.self_params == [("_count", "1000")]


def test_count_zero_and_summary_count_are_count_only(parser: QueryParser) -> None:
    assert parser.parse("Patient", [("_count", "0")]).count_only
    assert parser.parse("Patient", [("_summary", "count")]).count_only
    assert not parser.parse("Patient", [("_summary", "true")]).count_only


def test_summary_and_elements_are_handed_back(parser: QueryParser) -> None:
    query = parser.parse("Patient", [("_summary", "data"), ("_elements", "name, birthDate")])
    assert query.summary == "data"
    assert query.elements == ["name", "birthDate"]
    assert query.self_params == [("_summary", "data"), ("_elements", "name,birthDate")]


def test_comma_values_are_ored_and_repeats_are_anded(parser: QueryParser) -> None:
    # search.html#combining
    query = parser.parse("Observation", [("code", "a,b"), ("code", "c")])
    first, second = query.criteria
    assert isinstance(first, Match) and isinstance(second, Match)
    assert [value.code for value in first.values] == ["a", "b"]
    assert [value.code for value in second.values] == ["c"]


def test_escaped_comma_and_bar_stay_in_the_value(parser: QueryParser) -> None:
    # search.html#escaping
    (criterion,) = parser.parse("Observation", [("code", r"sys\|tem|a\,b")]).criteria
    assert isinstance(criterion, Match)
    assert criterion.values == (TokenValue("sys|tem", "a,b"),)


def test_token_forms(parser: QueryParser) -> None:
    (criterion,) = parser.parse("Observation", [("code", "c,s|c,|c,s|")]).criteria
    assert isinstance(criterion, Match)
    assert criterion.values == (
        TokenValue(None, "c"),
        TokenValue("s", "c"),
        TokenValue(None, "c", no_system=True),
        TokenValue("s", None),
    )


def test_time_zone_plus_turned_into_a_space_is_read_as_plus(parser: QueryParser) -> None:
    # A `+` that was not percent-encoded arrives as a space; it must not become 400 or 200.
    spaced = parser.parse("Observation", [("date", "ge2014-12-05T09:30:10 01:00")])
    plus = parser.parse("Observation", [("date", "ge2014-12-05T09:30:10+01:00")])
    assert spaced.criteria == plus.criteria
    assert spaced.self_params == [("date", "ge2014-12-05T09:30:10+01:00")]
    (criterion,) = plus.criteria
    assert isinstance(criterion, Match)
    (value,) = criterion.values
    assert isinstance(value, DateValue) and value.prefix == "ge"


def test_reference_forms(parser: QueryParser) -> None:
    params = [
        ("subject", "123"),
        ("subject", "Patient/123"),
        ("subject", f"{BASE}/Patient/123"),
        ("subject", "http://elsewhere.example/fhir/Patient/123"),
        ("subject:Patient", "123"),
    ]
    values = [c.values[0] for c in parser.parse("Observation", params).criteria]  # type: ignore[union-attr]
    assert values == [
        ReferenceValue(None, "123"),
        ReferenceValue("Patient", "123"),
        ReferenceValue("Patient", "123"),
        ReferenceValue(None, None, url="http://elsewhere.example/fhir/Patient/123"),
        ReferenceValue("Patient", "123"),
    ]


def test_type_modifier_must_be_a_target_of_the_parameter(parser: QueryParser) -> None:
    assert refused(parser, "Observation", [("patient:Practitioner", "1")]) == "invalid"


def test_missing_modifier_works_on_every_kind(parser: QueryParser) -> None:
    for name in ("code", "value-string", "date", "subject", "value-quantity", "_profile"):
        (criterion,) = parser.parse("Observation", [(f"{name}:missing", "true")]).criteria
        assert isinstance(criterion, Missing) and criterion.missing


def test_chain_names_each_target_type_that_has_the_parameter(parser: QueryParser) -> None:
    (criterion,) = parser.parse("Observation", [("subject:Patient.name", "peter")]).criteria
    assert isinstance(criterion, Chain)
    assert [target for target, _ in criterion.inner] == ["Patient"]
    (untyped,) = parser.parse("Observation", [("subject.name", "peter")]).criteria
    assert isinstance(untyped, Chain)
    # Observation.subject may be a Patient, Group, Device or Location; Group and Device
    # have no `name` parameter in R4, so the chain looks at Patients and Locations.
    assert {target for target, _ in untyped.inner} == {"Patient", "Location"}


def test_chains_deeper_than_three_are_refused(parser: QueryParser) -> None:
    deep = "subject:Patient.general-practitioner:Organization.partof.partof.name"
    assert refused(parser, "Observation", [(deep, "x")]) == "invalid"
    three = "subject:Patient.general-practitioner:Organization.partof.name"
    assert isinstance(parser.parse("Observation", [(three, "x")]).criteria[0], Chain)


def test_has_parses_and_nests(parser: QueryParser) -> None:
    name = "_has:Observation:patient:_has:Provenance:target:agent"
    (criterion,) = parser.parse("Patient", [(name, "Practitioner/1")]).criteria
    assert isinstance(criterion, Has) and isinstance(criterion.inner, Has)
    assert refused(parser, "Patient", [("_has:Observation:code:status", "final")]) == "invalid"


def test_include_and_revinclude(parser: QueryParser) -> None:
    query = parser.parse(
        "MedicationRequest",
        [
            ("_include", "MedicationRequest:medication"),
            ("_include:iterate", "Medication:manufacturer"),
            ("_revinclude", "Provenance:target"),
        ],
    )
    assert [(i.source_type, i.parameter.code, i.iterate) for i in query.includes] == [
        ("MedicationRequest", "medication", False),
        ("Medication", "manufacturer", True),
    ]
    assert [(i.source_type, i.parameter.code) for i in query.revincludes] == [
        ("Provenance", "target")
    ]
    assert refused(parser, "Patient", [("_include", "*")]) == "not-supported"


def test_empty_values_constrain_nothing(parser: QueryParser) -> None:
    query = parser.parse("Patient", [("name", "")])
    assert query.criteria == [] and query.self_params == []
