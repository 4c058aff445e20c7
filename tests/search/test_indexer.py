"""Index rows per parameter kind (R4 search.html#token, #string, #date, #reference,
#quantity, #number, #uri), hand-checked on shared-data resources and on small cases."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from isocenter.search.dates import date_range, period_range
from isocenter.search.definitions import Registry, SearchParameter, load_registry
from isocenter.search.indexer import ResourceIndexer, make_indexer
from isocenter.store.index_rows import IndexRows, Row
from isocenter.store.instants import from_datetime
from isocenter.store.schema import INSTANT_MAX
from tests.conftest import SHARED_DATA
from tests.search.test_fhirpath import shared_resources

US_CORE = SHARED_DATA / "us-core-examples"
FANNIE = SHARED_DATA / "synthea" / "bulk-data-server"


@pytest.fixture(scope="module")
def indexer() -> ResourceIndexer:
    return make_indexer(load_registry())


def _us_core(name: str) -> dict[str, Any]:
    return orjson.loads((US_CORE / f"{name}.json").read_bytes())


def _rows(rows: list[Row], param: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in row.items() if k != "param"} for row in rows if row["param"] == param
    ]


def _at(*parts: int) -> int:
    return from_datetime(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]


def _index(resource: dict[str, Any]) -> tuple[IndexRows, ResourceIndexer]:
    indexer = make_indexer(load_registry())
    return indexer(resource), indexer


@pytest.fixture(scope="module")
def observation_rows(indexer: ResourceIndexer) -> IndexRows:
    path = next(FANNIE.glob("Fannie_Waelchi_*.json"))
    bundle = orjson.loads(path.read_bytes())
    observation = next(
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["id"] == "1064a627-6448-4676-a8d3-331754480105"
    )
    return indexer(observation)


@pytest.fixture(scope="module")
def patient_rows(indexer: ResourceIndexer) -> IndexRows:
    return indexer(_us_core("Patient-example"))


class TestSyntheaObservation:
    """Body height of the Synthea infant Fannie Waelchi: valueQuantity, -04:00 offset."""

    def test_code_has_a_coding_row_and_a_text_row(self, observation_rows: IndexRows) -> None:
        assert _rows(observation_rows.token, "code") == [
            {"system": "http://loinc.org", "code": "8302-2", "text": "body height"},
            {"system": None, "code": None, "text": "body height"},
        ]

    def test_category_and_status(self, observation_rows: IndexRows) -> None:
        category = "http://terminology.hl7.org/CodeSystem/observation-category"
        assert _rows(observation_rows.token, "category") == [
            {"system": category, "code": "vital-signs", "text": "vital-signs"}
        ]
        assert _rows(observation_rows.token, "status") == [
            {"system": None, "code": "final", "text": None}
        ]

    def test_value_quantity_is_indexed_with_its_ucum_code(
        self, observation_rows: IndexRows
    ) -> None:
        expected = [{"system": "http://unitsofmeasure.org", "code": "cm", "value": 57.9}]
        assert _rows(observation_rows.quantity, "value-quantity") == expected
        assert _rows(observation_rows.quantity, "combo-value-quantity") == expected

    def test_effective_date_time_with_offset_is_one_utc_second(
        self, observation_rows: IndexRows
    ) -> None:
        start = _at(2020, 4, 29, 1, 53, 35)
        assert _rows(observation_rows.date, "date") == [
            {"start": start, "end": start + 999_999}
        ]

    def test_urn_uuid_references_are_kept_as_urls(self, observation_rows: IndexRows) -> None:
        url = "urn:uuid:8666cd40-7af9-48c6-a1a6-86a161195542"
        assert _rows(observation_rows.reference, "subject") == [
            {"target_type": None, "target_id": None, "url": url}
        ]
        # `patient` is subject.where(resolve() is Patient): a urn:uuid names no type.
        assert _rows(observation_rows.reference, "patient") == []


class TestUsCorePatient:
    def test_each_name_part_is_a_string_row(self, patient_rows: IndexRows) -> None:
        values = [row["value"] for row in _rows(patient_rows.string, "name")]
        assert values == ["Shaw", "Amy", "V.", "Baxter", "PharmD"]
        assert [row["value"] for row in _rows(patient_rows.string, "family")] == [
            "Shaw",
            "Baxter",
        ]
        assert [row["value"] for row in _rows(patient_rows.string, "given")] == ["Amy", "V."]

    def test_string_rows_carry_the_normalized_value(self, patient_rows: IndexRows) -> None:
        assert _rows(patient_rows.string, "family")[0] == {
            "value": "Shaw",
            "value_normalized": "shaw",
        }

    def test_each_address_part_is_a_string_row(self, patient_rows: IndexRows) -> None:
        values = [row["value"] for row in _rows(patient_rows.string, "address")]
        assert values == [
            "49 Meadow St",
            "Mounds",
            "OK",
            "74047",
            "US",
            "183 Mountain View St",
            "74048",
        ]
        postal = [row["value"] for row in _rows(patient_rows.string, "address-postalcode")]
        assert postal == ["74047", "74048"]

    def test_identifier_is_system_and_value_with_type_text(
        self, patient_rows: IndexRows
    ) -> None:
        assert _rows(patient_rows.token, "identifier") == [
            {
                "system": "http://hospital.smarthealthit.org",
                "code": "1032702",
                "text": "medical record number",
            }
        ]

    def test_telecom_is_its_value_without_a_system(self, patient_rows: IndexRows) -> None:
        assert _rows(patient_rows.token, "email") == [
            {"system": None, "code": "amy.shaw@example.com", "text": None}
        ]
        assert [row["code"] for row in _rows(patient_rows.token, "telecom")] == [
            "555-555-5555",
            "amy.shaw@example.com",
        ]

    def test_us_core_race_and_ethnicity_are_codes(self, patient_rows: IndexRows) -> None:
        race = [row["code"] for row in _rows(patient_rows.token, "race")]
        assert race == ["2106-3", "1002-5", "2028-9", "1586-7", "2036-2"]
        assert [row["code"] for row in _rows(patient_rows.token, "ethnicity")] == [
            "2135-2",
            "2184-0",
            "2148-5",
        ]

    def test_primitives_are_codes(self, patient_rows: IndexRows) -> None:
        assert _rows(patient_rows.token, "gender") == [
            {"system": None, "code": "female", "text": None}
        ]
        assert _rows(patient_rows.token, "active") == [
            {"system": None, "code": "true", "text": None}
        ]

    def test_birth_date_covers_the_day(self, patient_rows: IndexRows) -> None:
        assert _rows(patient_rows.date, "birthdate") == [
            {"start": _at(1987, 2, 20), "end": _at(1987, 2, 21) - 1}
        ]

    def test_profile_is_a_uri(self, patient_rows: IndexRows) -> None:
        profile = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
        assert _rows(patient_rows.uri, "_profile") == [{"value": profile}]

    def test_id_and_last_updated_are_left_to_the_resource_table(
        self, patient_rows: IndexRows
    ) -> None:
        params = {row["param"] for kind in patient_rows.by_kind().values() for row in kind}
        assert "_id" not in params and "_lastUpdated" not in params


class TestPeriods:
    def test_us_core_encounter_period_with_offsets(self, indexer: ResourceIndexer) -> None:
        rows = indexer(_us_core("Encounter-example-1"))
        assert _rows(rows.date, "date") == [
            {"start": _at(2015, 11, 1, 22, 0, 14), "end": _at(2015, 11, 1, 23, 0, 15) - 1}
        ]

    def test_us_core_document_reference_context_period(self, indexer: ResourceIndexer) -> None:
        rows = indexer(_us_core("DocumentReference-episode-summary"))
        start, end = period_range("2004-12-23T08:00:00+11:00", "2004-12-23T08:01:00+11:00")
        assert _rows(rows.date, "period") == [{"start": start, "end": end}]
        assert start == _at(2004, 12, 22, 21)

    def test_an_open_period_runs_to_the_largest_instant(self) -> None:
        rows, _ = _index({"resourceType": "Encounter", "period": {"start": "2020-01-01"}})
        assert _rows(rows.date, "date") == [{"start": _at(2020, 1, 1), "end": INSTANT_MAX}]

    def test_an_empty_period_has_no_row(self) -> None:
        rows, indexer = _index({"resourceType": "Encounter", "period": {}})
        assert _rows(rows.date, "date") == []
        assert not indexer.skipped


class TestDates:
    def test_each_timing_event_and_the_bounds_are_rows(self) -> None:
        timing = {
            "event": ["2020-01-01T10:00:00Z", "2020-01-02T10:00:00Z"],
            "repeat": {"boundsPeriod": {"start": "2020-01-01", "end": "2020-01-31"}},
        }
        rows, _ = _index({"resourceType": "Observation", "effectiveTiming": timing})
        assert _rows(rows.date, "date") == [
            dict(zip(("start", "end"), date_range("2020-01-01T10:00:00Z"), strict=True)),
            dict(zip(("start", "end"), date_range("2020-01-02T10:00:00Z"), strict=True)),
            {"start": _at(2020, 1, 1), "end": _at(2020, 2, 1) - 1},
        ]

    def test_malformed_dates_are_skipped_and_counted(self) -> None:
        resource = {
            "resourceType": "Observation",
            "effectiveDateTime": "2021-02-29",
            "subject": {"reference": "Patient/p1"},
        }
        rows, indexer = _index(resource)
        assert _rows(rows.date, "date") == []
        assert len(_rows(rows.reference, "subject")) == 1
        assert indexer.skipped == {("Observation", "date"): 1}

    def test_a_string_onset_is_not_a_date(self) -> None:
        rows, indexer = _index({"resourceType": "Condition", "onsetString": "childhood"})
        assert _rows(rows.date, "onset-date") == []
        assert indexer.skipped == {}


class TestTokens:
    def test_coding_display_feeds_text(self) -> None:
        resource = {
            "resourceType": "Observation",
            "category": [{"coding": [{"system": "s", "code": "c", "display": "Vital Sígns"}]}],
        }
        rows, _ = _index(resource)
        assert _rows(rows.token, "category") == [
            {"system": "s", "code": "c", "text": "vital signs"}
        ]

    def test_duplicate_rows_of_one_param_are_written_once(self) -> None:
        coding = {"system": "s", "code": "c"}
        resource = {"resourceType": "Observation", "category": [{"coding": [coding, coding]}]}
        rows, _ = _index(resource)
        assert len(_rows(rows.token, "category")) == 1

    def test_an_empty_coding_has_no_row(self) -> None:
        rows, _ = _index({"resourceType": "Observation", "code": {"coding": [{}]}})
        assert _rows(rows.token, "code") == []


class TestReferences:
    def test_relative_references_drop_the_version(self) -> None:
        resource = {
            "resourceType": "Observation",
            "subject": {"reference": "Patient/p1/_history/2"},
        }
        rows, _ = _index(resource)
        expected = [{"target_type": "Patient", "target_id": "p1", "url": None}]
        assert _rows(rows.reference, "subject") == expected
        assert _rows(rows.reference, "patient") == expected

    def test_absolute_references_keep_the_url_and_name_the_target(self) -> None:
        url = "http://other.example/fhir/Patient/p2"
        rows, _ = _index({"resourceType": "Observation", "subject": {"reference": url}})
        assert _rows(rows.reference, "subject") == [
            {"target_type": "Patient", "target_id": "p2", "url": url}
        ]

    def test_contained_and_identifier_references_have_no_row(self) -> None:
        resource = {
            "resourceType": "Observation",
            "performer": [{"reference": "#p"}, {"identifier": {"value": "1"}}],
        }
        rows, indexer = _index(resource)
        assert _rows(rows.reference, "performer") == []
        assert not indexer.skipped

    def test_an_unknown_relative_type_is_skipped(self) -> None:
        resource = {"resourceType": "Observation", "subject": {"reference": "Nonsense/1"}}
        rows, indexer = _index(resource)
        assert _rows(rows.reference, "subject") == []
        assert indexer.skipped == {("Observation", "subject"): 1}

    def test_canonicals_are_urls(self) -> None:
        questionnaire = "http://example.org/Questionnaire/phq-9"
        resource = {"resourceType": "QuestionnaireResponse", "questionnaire": questionnaire}
        rows, _ = _index(resource)
        assert _rows(rows.reference, "questionnaire") == [
            {"target_type": None, "target_id": None, "url": questionnaire}
        ]

    def test_a_versioned_canonical_is_found_with_and_without_its_version(self) -> None:
        questionnaire = "http://example.org/Questionnaire/phq-9"
        resource = {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": f"{questionnaire}|1.0",
        }
        rows, _ = _index(resource)
        assert [row["url"] for row in _rows(rows.reference, "questionnaire")] == [
            questionnaire,
            f"{questionnaire}|1.0",
        ]

    def test_a_bundles_first_resource_is_its_composition(self) -> None:
        bundle = {
            "resourceType": "Bundle",
            "type": "document",
            "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}],
        }
        rows, _ = _index(bundle)
        assert _rows(rows.reference, "composition") == [
            {"target_type": "Composition", "target_id": "c1", "url": None}
        ]


class TestQuantities:
    def test_a_unit_differing_from_the_code_gets_its_own_row(self) -> None:
        quantity = {
            "value": 5,
            "unit": "mg",
            "system": "http://unitsofmeasure.org",
            "code": "mg",
        }
        rows, _ = _index({"resourceType": "Observation", "valueQuantity": quantity})
        assert len(_rows(rows.quantity, "value-quantity")) == 1

        quantity = {**quantity, "unit": "milligram"}
        rows, _ = _index({"resourceType": "Observation", "valueQuantity": quantity})
        assert [row["code"] for row in _rows(rows.quantity, "value-quantity")] == [
            "mg",
            "milligram",
        ]

    def test_the_unit_stands_in_for_a_missing_code(self) -> None:
        rows, _ = _index(
            {"resourceType": "Observation", "valueQuantity": {"value": 1, "unit": "x"}}
        )
        assert _rows(rows.quantity, "value-quantity") == [
            {"system": None, "code": "x", "value": 1.0}
        ]

    def test_a_range_is_indexed_by_both_ends(self) -> None:
        value = {"low": {"value": 1, "code": "a"}, "high": {"value": 9, "code": "a"}}
        rows, _ = _index({"resourceType": "Condition", "onsetRange": value})
        assert [row["value"] for row in _rows(rows.quantity, "onset-age")] == [1.0, 9.0]

    def test_money_is_searched_by_currency(self) -> None:
        claim = {
            "resourceType": "ChargeItem",
            "priceOverride": {"value": 10.5, "currency": "USD"},
        }
        rows, _ = _index(claim)
        assert _rows(rows.quantity, "price-override") == [
            {"system": "urn:iso:std:iso:4217", "code": "USD", "value": 10.5}
        ]

    def test_a_quantity_without_a_number_is_skipped(self) -> None:
        rows, indexer = _index({"resourceType": "Observation", "valueQuantity": {"code": "mg"}})
        assert _rows(rows.quantity, "value-quantity") == []
        assert indexer.skipped[("Observation", "value-quantity")] == 1


class TestNumbersAndUris:
    def test_a_decimal_is_a_number(self) -> None:
        risk = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.25}]}
        rows, _ = _index(risk)
        assert _rows(rows.number, "probability") == [{"value": 0.25}]

    def test_a_uri_is_kept_as_written(self) -> None:
        rows, _ = _index({"resourceType": "ValueSet", "url": "http://example.org/vs"})
        assert _rows(rows.uri, "url") == [{"value": "http://example.org/vs"}]


class TestFallback:
    def test_a_fhirpath_error_indexes_nothing_and_is_counted(self) -> None:
        parameter = SearchParameter(
            code="has-quantity",
            type="token",
            resource_type="Observation",
            expression="(Observation.component.value as Quantity).exists()",
            targets=(),
            url="urn:test",
            supported=True,
        )
        indexer = make_indexer(Registry(["Observation"], [parameter], {}))
        two = [{"valueQuantity": {"value": 1}}, {"valueQuantity": {"value": 2}}]
        rows = indexer({"resourceType": "Observation", "component": two})
        assert rows.token == []
        assert indexer.skipped == {("Observation", "has-quantity"): 1}

        rows = indexer({"resourceType": "Observation", "component": two[:1]})
        assert _rows(rows.token, "has-quantity") == [
            {"system": None, "code": "true", "text": None}
        ]


class TestAllSharedData:
    def test_every_shared_resource_indexes_without_skipped_values(self) -> None:
        indexer = make_indexer(load_registry())
        counts = dict.fromkeys(IndexRows().by_kind(), 0)
        for resource in shared_resources():
            for kind, found in indexer(resource).by_kind().items():
                counts[kind] += len(found)
        assert indexer.skipped == {}
        assert counts["token"] > 80_000 and counts["reference"] > 50_000
        assert counts["date"] > 15_000 and counts["quantity"] > 8_000

    def test_indexing_speed_on_the_synthea_bundles(self, capsys: pytest.CaptureFixture) -> None:
        """A micro-measure, printed and not asserted: the loader needs 3,000+ resources/s."""
        resources = [
            entry["resource"]
            for path in sorted((SHARED_DATA / "synthea").glob("*/*.json"))
            for entry in orjson.loads(path.read_bytes())["entry"]
        ]
        indexer = make_indexer(load_registry())
        for resource in resources[:500]:
            indexer(resource)
        started = time.perf_counter()
        for resource in resources:
            indexer(resource)
        elapsed = time.perf_counter() - started
        with capsys.disabled():
            print(f"\nindexer: {len(resources) / elapsed:,.0f} resources/s on {len(resources)}")
