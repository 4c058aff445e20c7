"""The store keeps every version, writes atomically and reads back what was written."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import Engine, func, select

from isocenter.store import schema
from isocenter.store.index_rows import IndexRows
from isocenter.store.repository import Store, VersionConflict


def _patient(id: str, family: str = "Chalmers") -> dict:
    return {"resourceType": "Patient", "id": id, "name": [{"family": family}]}


def _indexer(resource: dict) -> IndexRows:
    rows = IndexRows()
    for name in resource.get("name", []):
        rows.string.append(
            {
                "param": "family",
                "value": name["family"],
                "value_normalized": name["family"].lower(),
            }
        )
    if resource["resourceType"] == "Patient":
        rows.patients.add(resource["id"])
    return rows


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine, _indexer)


def test_put_assigns_version_and_last_updated_into_meta(store: Store) -> None:
    with store.writer() as writer:
        stored = writer.put(_patient("p1"))
    read = store.read("Patient", "p1")
    assert read is not None
    assert read.version_id == 1
    body = orjson.loads(read.content)
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] == stored.last_updated_instant
    assert body["name"] == [{"family": "Chalmers"}]


def test_update_keeps_every_version_in_history(store: Store) -> None:
    with store.writer() as writer:
        writer.put(_patient("p1", "One"))
    with store.writer() as writer:
        writer.put(_patient("p1", "Two"))
    assert store.read("Patient", "p1").version_id == 2
    assert store.vread("Patient", "p1", 1).parsed()["name"][0]["family"] == "One"
    assert store.vread("Patient", "p1", 2).parsed()["name"][0]["family"] == "Two"
    assert store.vread("Patient", "p1", 3) is None
    versions = [s.version_id for s in store.history("Patient", "p1")]
    assert versions == [2, 1]


def test_update_replaces_index_rows(store: Store, engine: Engine) -> None:
    with store.writer() as writer:
        writer.put(_patient("p1", "One"))
        writer.put(_patient("p1", "Two"))
    with engine.connect() as conn:
        values = conn.execute(select(schema.search_string.c.value)).scalars().all()
        compartments = conn.execute(select(func.count()).select_from(schema.compartment))
        assert compartments.scalar_one() == 1
    assert values == ["Two"]


def test_failed_transaction_leaves_nothing(store: Store, engine: Engine) -> None:
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.put(_patient("p1"))
        raise RuntimeError("entry 2 is bad")
    assert store.read("Patient", "p1") is None
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(schema.search_string)).scalar() == 0
        )


def test_delete_is_a_new_version_and_keeps_history(store: Store) -> None:
    with store.writer() as writer:
        writer.put(_patient("p1"))
    with store.writer() as writer:
        deleted = writer.delete("Patient", "p1")
        assert writer.delete("Patient", "p1") is None
    assert deleted is not None and deleted.version_id == 2
    current = store.read("Patient", "p1")
    assert current.deleted and current.content is None
    assert store.vread("Patient", "p1", 1).parsed()["id"] == "p1"


def test_if_match_conflict_is_refused(store: Store) -> None:
    with store.writer() as writer:
        writer.put(_patient("p1"))
    with pytest.raises(VersionConflict), store.writer() as writer:
        writer.put(_patient("p1", "Other"), expected_version=7)
    assert store.read("Patient", "p1").version_id == 1


def test_put_many_with_repeated_id_makes_successive_versions(store: Store) -> None:
    with store.writer() as writer:
        stored = writer.put_many([_patient("p1", "A"), _patient("p2"), _patient("p1", "B")])
    assert [s.version_id for s in stored] == [1, 1, 2]
    assert store.read("Patient", "p1").parsed()["name"][0]["family"] == "B"


def test_type_history_pages_newest_first(store: Store) -> None:
    for index in range(5):
        with store.writer() as writer:
            writer.put(_patient(f"p{index}"))
    first = store.history("Patient", limit=2)
    assert [s.id for s in first] == ["p4", "p3"]
    from isocenter.store.repository import HistoryCursor

    last = first[-1]
    cursor = HistoryCursor(last.last_updated, last.resource_type, last.id, last.version_id)
    assert [s.id for s in store.history("Patient", limit=2, before=cursor)] == ["p2", "p1"]
    assert store.count_history("Patient") == 5
