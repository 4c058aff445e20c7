"""Query plans of the typical searches on SQLite (which has no statistics unless ANALYZE
ran): each must find its resources through an index, never by walking every resource of
the type, so that they stay at a few milliseconds on 250k resources (measured figures are
in the S2 report). PostgreSQL plans from statistics and is not checked here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from isocenter.store.engine import make_engine, migrate
from tests.search.search_data import FANNIE, FANNIE_ID, load, new_store, search_engine

TYPICAL = {
    "Observation by patient and category": (
        "Observation",
        [("patient", FANNIE_ID), ("category", "vital-signs")],
    ),
    "Observation by patient, code and dates": (
        "Observation",
        [
            ("patient", FANNIE_ID),
            ("code", "http://loinc.org|8302-2"),
            ("date", "ge2020-01-01"),
            ("date", "lt2021-01-01"),
        ],
    ),
    "Condition by patient": ("Condition", [("patient", FANNIE_ID)]),
    "Patient by family": ("Patient", [("family", "waelchi")]),
    "MedicationRequest by patient and status": (
        "MedicationRequest",
        [("patient", FANNIE_ID), ("status", "active")],
    ),
    "a later page": ("Observation", [("patient", FANNIE_ID), ("_count", "2")]),
}
# Searches restricted to a Patient's compartment: the compartment drives.
IN_COMPARTMENT = {
    "every Observation": ("Observation", []),
    "Observation by category": ("Observation", [("category", "laboratory")]),
    "Encounter by id": ("Encounter", [("_id", "b9dc04d7-fe13-4d6e-aa53-8d7aee1fe8d6")]),
}


def plans(
    tmp_path: Path,
    resource_type: str,
    params: list[tuple[str, str]],
    compartment: str | None = None,
) -> list[str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    migrate(engine)
    store = new_store(engine)
    load(store, [FANNIE])
    search = search_engine(store)
    if ("_count", "2") in params:
        params = search.search(resource_type, params).next_params or []
    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.startswith("SELECT") and "max(" not in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    search.search(resource_type, params, compartment=compartment)
    event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as conn:
        details = [
            row[-1]
            for statement, parameters in statements
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        ]
    engine.dispose()
    return details


@pytest.mark.parametrize("name", list(TYPICAL))
def test_typical_searches_look_resources_up_by_key(tmp_path: Path, name: str) -> None:
    details = plans(tmp_path, *TYPICAL[name])
    assert "SEARCH resource USING INTEGER PRIMARY KEY (rowid=?)" in details
    assert not any(detail.startswith("SCAN") for detail in details), details
    assert not any("ix_resource_type_updated" in detail for detail in details), details


@pytest.mark.parametrize("name", list(IN_COMPARTMENT))
def test_compartment_searches_start_from_the_compartment(tmp_path: Path, name: str) -> None:
    details = plans(tmp_path, *IN_COMPARTMENT[name], compartment=FANNIE_ID)
    assert "SEARCH resource USING INTEGER PRIMARY KEY (rowid=?)" in details
    assert any("ix_compartment_patient" in detail for detail in details), details
    assert not any(detail.startswith("SCAN") for detail in details), details
    assert not any("ix_resource_type" in detail for detail in details), details
