"""What the loader does with bad input: report ``file:line`` or ``file: Bundle.entry[i]``,
leave nothing of a failed Bundle, load everything else."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from isocenter.ingest.loader import Loader, LoadReport, summary
from isocenter.store.repository import Store
from tests.ingest.conftest import BASE, IdentifierMatcher, table_counts

NPI = "http://hl7.org/fhir/sid/us-npi"


def write_ndjson(path: Path, *lines: Any) -> Path:
    text = b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)
    return path


def load(store: Store, resource_types: frozenset[str], *paths: Path) -> LoadReport:
    loader = Loader(
        store, IdentifierMatcher(), resource_types=resource_types, fhir_base_url=BASE
    )
    return loader.load(paths)


def encounter(id: str, practitioner_npi: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": id,
        "status": "finished",
        "class": {"code": "AMB"},
        "participant": [
            {"individual": {"reference": f"Practitioner?identifier={NPI}|{practitioner_npi}"}}
        ],
    }


def practitioner(id: str, npi: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": id,
        "identifier": [{"system": NPI, "value": npi}],
    }


def test_bad_ndjson_lines_are_reported_by_line_and_the_rest_loads(
    tmp_path: Path, store: Store, resource_types: frozenset[str]
) -> None:
    path = write_ndjson(
        tmp_path / "Mixed.ndjson.gz",
        {"resourceType": "Patient", "id": "a"},
        b"{broken",
        {"id": "no-type"},
        {"resourceType": "Spaceship", "id": "s"},
        {"resourceType": "Patient", "id": "b", "gender": 1},
        encounter("e1", "nobody"),
        encounter("e2", "twice"),
        practitioner("p1", "twice"),
        practitioner("p2", "twice"),
        {"resourceType": "Patient", "id": "c"},
    )
    report = load(store, resource_types, path)

    reasons = {problem.where: problem.reason for problem in report.errors}
    assert reasons[f"{path}:2"].startswith("invalid JSON")
    assert reasons[f"{path}:3"] == "resource: resourceType is missing"
    assert reasons[f"{path}:4"] == "Spaceship: unknown resource type 'Spaceship'"
    assert reasons[f"{path}:5"] == "Patient.gender: must be a string"
    assert reasons[f"{path}:6"] == (
        f"conditional reference 'Practitioner?identifier={NPI}|nobody' matches no resource"
    )
    assert reasons[f"{path}:7"] == (
        f"conditional reference 'Practitioner?identifier={NPI}|twice' matches 2 resources"
    )
    assert len(reasons) == 6
    assert report.counts == {"Patient": 2, "Practitioner": 2}
    assert store.read("Encounter", "e1") is None


def test_a_failed_bundle_leaves_nothing_and_the_other_files_still_load(
    tmp_path: Path, store: Store, engine: Engine, resource_types: frozenset[str]
) -> None:
    bad = tmp_path / "a-bad.json"
    bad.write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "fullUrl": "urn:uuid:1",
                        "resource": {"resourceType": "Patient", "id": "in-bad-bundle"},
                        "request": {"method": "POST", "url": "Patient"},
                    },
                    {
                        "resource": {"resourceType": "Patient", "id": "x", "meta": "v1"},
                        "request": {"method": "POST", "url": "Patient"},
                    },
                ],
            }
        )
    )
    good = write_ndjson(tmp_path / "b-good.ndjson", {"resourceType": "Patient", "id": "ok"})
    before = table_counts(engine)

    report = load(store, resource_types, bad, good)

    assert [str(problem) for problem in report.errors] == [
        f"{bad}: Bundle.entry[1]: resource.meta: must be an object"
    ]
    assert store.read("Patient", "in-bad-bundle") is None
    assert store.read("Patient", "ok") is not None
    after = table_counts(engine)
    assert after["resource"] == before["resource"] + 1
    assert "failed items were not stored; everything else was loaded" in summary(report)


def test_batch_bundle_entries_fail_alone(
    tmp_path: Path, store: Store, resource_types: frozenset[str]
) -> None:
    path = tmp_path / "batch.json"
    path.write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [
                    {
                        "resource": {"resourceType": "Patient", "id": "good"},
                        "request": {"method": "PUT", "url": "Patient/good"},
                    },
                    {
                        "resource": {"resourceType": "Patient", "id": "bad", "active": "no"},
                        "request": {"method": "PUT", "url": "Patient/bad"},
                    },
                ],
            }
        )
    )
    report = load(store, resource_types, path)

    assert [str(problem) for problem in report.errors] == [
        f"{path}: Bundle.entry[1]: resource.active: must be a JSON boolean"
    ]
    assert report.counts == {"Patient": 1}


def test_non_fhir_files_are_skipped_with_a_note(
    tmp_path: Path, store: Store, resource_types: frozenset[str]
) -> None:
    (tmp_path / "package.json").write_text('{"name": "hl7.fhir.x", "version": "1.0.0"}')
    write_ndjson(tmp_path / "log.ndjson", {"eventId": "kickoff"})
    (tmp_path / "notes.txt").write_text("not loaded at all")
    (tmp_path / "sub").mkdir()
    write_ndjson(tmp_path / "sub" / "Patient.ndjson", {"resourceType": "Patient", "id": "p"})

    report = load(store, resource_types, tmp_path)

    assert report.errors == []
    assert {Path(problem.where).name: problem.reason for problem in report.skipped} == {
        "package.json": "not a FHIR resource (no resourceType)",
        "log.ndjson": "not FHIR NDJSON (its first line has no resourceType)",
    }
    assert report.counts == {"Patient": 1}
    assert report.files == 3


def test_a_single_resource_file_with_a_conditional_reference_waits_for_its_target(
    tmp_path: Path, store: Store, resource_types: frozenset[str]
) -> None:
    (tmp_path / "a-encounter.json").write_bytes(orjson.dumps(encounter("e", "42")))
    write_ndjson(tmp_path / "b-practitioners.ndjson", practitioner("dr", "42"))

    report = load(store, resource_types, tmp_path)

    assert report.errors == []
    stored = store.read("Encounter", "e")
    assert stored is not None
    assert stored.parsed()["participant"][0]["individual"] == {"reference": "Practitioner/dr"}
