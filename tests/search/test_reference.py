"""Reference search (R4 search 3.1.1.4.10, http://hl7.org/fhir/R4/search.html#reference):
``id``, ``Type/id``, this server's absolute URL, other absolute URLs, ``:Type`` and
``:missing``, on the US Core examples and a Synthea bundle.

Two Observations are added by hand for the absolute forms, which the shared data lacks:
one refers to this server's ``{base}/Patient/child-example``, one to the same id on
another server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isocenter.outcomes import OperationOutcomeError
from isocenter.search.engine import SearchEngine
from tests.search.search_data import (
    BASE,
    DATABASES,
    FANNIE,
    FANNIE_ID,
    ids,
    loaded_engine,
    us_core_files,
)

ELSEWHERE = "http://elsewhere.example/fhir/Patient/child-example"
ABSOLUTE = [
    {
        "resourceType": "Observation",
        "id": "local-absolute",
        "status": "final",
        "code": {"text": "local"},
        "subject": {"reference": f"{BASE}/Patient/child-example"},
    },
    {
        "resourceType": "Observation",
        "id": "foreign-absolute",
        "status": "final",
        "code": {"text": "foreign"},
        "subject": {"reference": ELSEWHERE},
    },
]
FANNIE_ENCOUNTER = "b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6"


@pytest.fixture(scope="module", params=DATABASES)
def search(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchEngine]:
    yield from loaded_engine(request, tmp_path_factory, [*us_core_files(), FANNIE], ABSOLUTE)


def found(search: SearchEngine, resource_type: str, *params: tuple[str, str]) -> list[str]:
    return ids(search.search(resource_type, list(params)))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("subject", "Patient/infant-example"),
        ("subject", "infant-example"),
        ("subject:Patient", "infant-example"),
        ("subject", f"{BASE}/Patient/infant-example"),
        ("patient", "infant-example"),
        ("patient", "Patient/infant-example/_history/1"),
    ],
)
def test_every_form_of_a_local_reference(search: SearchEngine, name: str, value: str) -> None:
    assert found(search, "Observation", (name, value)) == [
        "ofc-percentile",
        "pediatric-wt-example",
    ]


def test_absolute_urls_of_this_server_are_local_references(search: SearchEngine) -> None:
    expected = ["local-absolute", "pediatric-bmi-example"]
    assert found(search, "Observation", ("subject", "Patient/child-example")) == expected
    assert found(search, "Observation", ("subject", "child-example")) == expected


def test_other_servers_urls_match_only_as_given(search: SearchEngine) -> None:
    assert found(search, "Observation", ("subject", ELSEWHERE)) == ["foreign-absolute"]


def test_the_type_must_agree(search: SearchEngine) -> None:
    assert found(search, "Observation", ("subject", "Group/infant-example")) == []
    assert found(search, "Observation", ("subject:Group", "infant-example")) == []
    assert found(search, "Observation", ("subject:Device", "infant-example")) == []


def test_references_from_other_resource_types(search: SearchEngine) -> None:
    assert found(search, "MedicationRequest", ("encounter", "example-1")) == ["self-tylenol"]
    assert found(search, "Observation", ("has-member", "Observation/heart-rate")) == [
        "vitals-panel"
    ]
    assert len(found(search, "Observation", ("encounter", FANNIE_ENCOUNTER))) == 20
    assert found(search, "Encounter", ("patient", FANNIE_ID)) == [FANNIE_ENCOUNTER]


def test_contained_and_display_only_references_are_not_indexed(search: SearchEngine) -> None:
    # uscore-mo2 refers to `#med2`; the vital signs have an encounter with a display only.
    assert found(search, "MedicationRequest", ("medication", "med2")) == []
    assert found(search, "MedicationRequest", ("medication:missing", "true")) == [
        "self-tylenol",
        "uscore-mo1",
        "uscore-mo2",
    ]
    with_encounter = found(
        search, "Observation", ("patient", "example"), ("encounter:missing", "false")
    )
    assert with_encounter == ["bp-data-absent"]


def test_comma_ors_targets(search: SearchEngine) -> None:
    result = found(search, "Observation", ("patient", "infant-example,Patient/child-example"))
    assert result == [
        "local-absolute",
        "ofc-percentile",
        "pediatric-bmi-example",
        "pediatric-wt-example",
    ]


@pytest.mark.parametrize("value", ["Patient/", "patient/example", "Patient/a/b/c", "a b"])
def test_malformed_references_are_refused(search: SearchEngine, value: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        search.search("Observation", [("subject", value)])
    assert caught.value.status == 400
