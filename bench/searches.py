"""Search latency over HTTP, beside a bare SQL fetch of the same resources.

Each query kind runs ``runs`` times with real values from the Synthea bundles (a patient
of a random copy, one of that patient's LOINC codes and the year it was measured, a
family name), one request at a time on one keep-alive connection. The baseline for each
run is ``SELECT content FROM resource`` of exactly the resources that run matched, by
the unique (resource_type, id) index: what reading those rows costs without searching.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy import Engine, bindparam, select

from bench.multiplier import SourceBundle, copy_id
from isocenter.store import schema

Params = list[tuple[str, str]]

LOINC = "http://loinc.org"


@dataclass(frozen=True)
class PatientFacts:
    """What the queries need to know about one source bundle's patient."""

    id: str
    family: str
    coded_observations: tuple[tuple[str, str], ...]  # (LOINC code, yyyy-mm-dd)
    has_medication_requests: bool


@dataclass(frozen=True)
class QueryKind:
    name: str
    resource_type: str
    params: Callable[[PatientFacts, int, random.Random], Params]
    applies: Callable[[PatientFacts], bool] = lambda _facts: True


@dataclass
class SearchFigures:
    kind: QueryKind
    example: str
    http_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    matches: list[int] = field(default_factory=list)
    errors: int = 0


def percentile(values: list[float], rank: float) -> float:
    """Nearest-rank percentile (p99 of 200 runs is the 198th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def patient_facts(source: SourceBundle) -> PatientFacts:
    resources = [entry["resource"] for entry in source.bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return PatientFacts(
        id=patient["id"],
        family=patient["name"][0]["family"],
        coded_observations=tuple(
            (coding["code"], observation["effectiveDateTime"][:10])
            for observation in resources
            if observation["resourceType"] == "Observation"
            and "effectiveDateTime" in observation
            for coding in observation["code"].get("coding", [])[:1]
            if coding.get("system") == LOINC
        ),
        has_medication_requests=any(
            r["resourceType"] == "MedicationRequest" for r in resources
        ),
    )


def _code_and_year(facts: PatientFacts, copy: int, rng: random.Random) -> Params:
    code, day = rng.choice(facts.coded_observations)
    year = day[:4]
    return [
        ("patient", copy_id(copy, facts.id)),
        ("code", f"{LOINC}|{code}"),
        ("date", f"ge{year}-01-01"),
        ("date", f"le{year}-12-31"),
    ]


QUERY_KINDS = (
    QueryKind(
        "Observation?patient&category=laboratory",
        "Observation",
        lambda f, c, _r: [("patient", copy_id(c, f.id)), ("category", "laboratory")],
    ),
    QueryKind(
        "Observation?patient&code&date=ge&date=le",
        "Observation",
        _code_and_year,
        lambda f: bool(f.coded_observations),
    ),
    QueryKind(
        "Condition?patient", "Condition", lambda f, c, _r: [("patient", copy_id(c, f.id))]
    ),
    QueryKind("Patient?family", "Patient", lambda f, _c, _r: [("family", f.family)]),
    QueryKind(
        "MedicationRequest?patient&status=active",
        "MedicationRequest",
        lambda f, c, _r: [("patient", copy_id(c, f.id)), ("status", "active")],
        lambda f: f.has_medication_requests,
    ),
)


def _content_by_ids(resource_type: str) -> object:
    resource = schema.resource
    return select(resource.c.content).where(
        resource.c.resource_type == resource_type,
        resource.c.id.in_(bindparam("ids", expanding=True)),
    )


def _matched_ids(body: bytes) -> list[str]:
    bundle = orjson.loads(body)
    return [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode", "match") == "match"
    ]


def run_searches(
    client: httpx.Client,
    fhir_base_url: str,
    engine: Engine,
    facts: list[PatientFacts],
    *,
    copies: int,
    runs: int,
    seed: int = 7,
    warmup: int = 10,
) -> list[SearchFigures]:
    """Time every query kind ``runs`` times over HTTP and its SQL baseline alongside."""
    results = []
    for kind in QUERY_KINDS:
        rng = random.Random(seed)
        eligible = [f for f in facts if kind.applies(f)]
        cases = [
            kind.params(rng.choice(eligible), rng.randrange(copies), rng)
            for _ in range(warmup + runs)
        ]
        url = f"{fhir_base_url}/{kind.resource_type}"
        figures = SearchFigures(kind, str(httpx.URL(url, params=cases[0])))
        statement = _content_by_ids(kind.resource_type)
        with engine.connect() as conn:
            for index, params in enumerate(cases):
                started = time.perf_counter()
                response = client.get(url, params=params)
                http_ms = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    figures.errors += 1
                    continue
                ids = _matched_ids(response.content)
                started = time.perf_counter()
                rows = conn.execute(statement, {"ids": ids}).all()
                conn.rollback()
                sql_ms = (time.perf_counter() - started) * 1000
                if index < warmup:
                    continue
                figures.http_ms.append(http_ms)
                figures.sql_ms.append(sql_ms)
                figures.matches.append(len(rows))
        results.append(figures)
    return results
