"""Search latency over HTTP, beside a bare SQL fetch of the same resources.

Each query kind runs ``runs`` times with real values from the Synthea bundles (a patient
of a random copy, one of that patient's LOINC codes and a year it was measured, a family
name), one request at a time on one keep-alive connection. The baseline for each run is
``SELECT content FROM resource`` of exactly the resources that run matched, by the unique
(resource_type, id) index: what reading those rows costs without searching. Each run's
``total`` is also checked against the count worked out from the source bundles, so a
fast but wrong search shows.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy import Connection, Engine, Select, bindparam, select

from bench.multiplier import SourceBundle, copy_id
from isocenter.search.normalize import normalize_string
from isocenter.store import schema

Params = list[tuple[str, str]]

LOINC = "http://loinc.org"


@dataclass(frozen=True)
class PatientFacts:
    """What the queries need to know about one source bundle's patient."""

    id: str
    families: tuple[str, ...]
    conditions: int
    laboratory_observations: int
    active_medication_requests: int
    medication_requests: int
    # (LOINC code, year of effectiveDateTime as written) -> Observations with it
    code_years: Counter[tuple[str, str]]


@dataclass(frozen=True)
class Case:
    params: Params
    expected_total: int


@dataclass(frozen=True)
class Population:
    """The source patients; ``copies`` whole copies to pick from, and how many copies of
    each source patient the store holds (more than ``copies`` when a load was cut short
    inside a later copy)."""

    patients: list[PatientFacts]
    copies: int
    stored_copies: dict[str, int]


@dataclass(frozen=True)
class QueryKind:
    name: str
    resource_type: str
    case: Callable[[PatientFacts, int, random.Random, Population], Case]
    applies: Callable[[PatientFacts], bool] = lambda _facts: True


@dataclass
class SearchFigures:
    kind: QueryKind
    example: str
    http_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    matches: list[int] = field(default_factory=list)
    errors: int = 0
    unexpected_totals: int = 0


def percentile(values: list[float], rank: float) -> float:
    """Nearest-rank percentile (p99 of 200 runs is the 198th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def _has_category(observation: dict, code: str) -> bool:
    return any(
        coding.get("code") == code
        for category in observation.get("category", [])
        for coding in category.get("coding", [])
    )


def patient_facts(source: SourceBundle) -> PatientFacts:
    resources = [entry["resource"] for entry in source.bundle["entry"]]
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    patient = by_type["Patient"][0]
    observations = by_type.get("Observation", [])
    requests = by_type.get("MedicationRequest", [])
    return PatientFacts(
        id=patient["id"],
        families=tuple(name["family"] for name in patient["name"] if "family" in name),
        conditions=len(by_type.get("Condition", [])),
        laboratory_observations=sum(_has_category(o, "laboratory") for o in observations),
        active_medication_requests=sum(r["status"] == "active" for r in requests),
        medication_requests=len(requests),
        code_years=Counter(
            (code, year)
            for observation in observations
            if "effectiveDateTime" in observation
            for year in [observation["effectiveDateTime"][:4]]
            for code in {
                coding["code"]
                for coding in observation["code"].get("coding", [])
                if coding.get("system") == LOINC
            }
        ),
    )


def _laboratory(facts: PatientFacts, copy: int, _rng: random.Random, _p: Population) -> Case:
    params = [("patient", copy_id(copy, facts.id)), ("category", "laboratory")]
    return Case(params, facts.laboratory_observations)


def _code_and_year(facts: PatientFacts, copy: int, rng: random.Random, _p: Population) -> Case:
    (code, year), count = rng.choice(sorted(facts.code_years.items()))
    params = [
        ("patient", copy_id(copy, facts.id)),
        ("code", f"{LOINC}|{code}"),
        ("date", f"ge{year}-01-01"),
        ("date", f"le{year}-12-31"),
    ]
    return Case(params, count)


def _conditions(facts: PatientFacts, copy: int, _rng: random.Random, _p: Population) -> Case:
    return Case([("patient", copy_id(copy, facts.id))], facts.conditions)


def _family(facts: PatientFacts, _copy: int, _rng: random.Random, people: Population) -> Case:
    family = facts.families[0]
    wanted = normalize_string(family)
    # String search matches names that start with the value (R4 search 3.1.1.4.13).
    alike = sum(
        people.stored_copies[other.id]
        for other in people.patients
        if any(normalize_string(name).startswith(wanted) for name in other.families)
    )
    return Case([("family", family)], alike)


def _active_requests(
    facts: PatientFacts, copy: int, _rng: random.Random, _p: Population
) -> Case:
    params = [("patient", copy_id(copy, facts.id)), ("status", "active")]
    return Case(params, facts.active_medication_requests)


QUERY_KINDS = (
    QueryKind("Observation?patient&category=laboratory", "Observation", _laboratory),
    QueryKind(
        "Observation?patient&code&date=ge&date=le",
        "Observation",
        _code_and_year,
        lambda facts: bool(facts.code_years),
    ),
    QueryKind("Condition?patient", "Condition", _conditions),
    QueryKind("Patient?family", "Patient", _family),
    QueryKind(
        "MedicationRequest?patient&status=active",
        "MedicationRequest",
        _active_requests,
        lambda facts: facts.medication_requests > 0,
    ),
)


def stored_patient_copies(
    engine: Engine, patients: list[PatientFacts], copies: int
) -> dict[str, int]:
    """For each source patient, how many of its ``copies`` copies the store holds."""
    resource = schema.resource
    wanted = {copy_id(n, facts.id): facts.id for facts in patients for n in range(copies)}
    query = select(resource.c.id).where(
        resource.c.resource_type == "Patient", resource.c.id.in_(list(wanted))
    )
    with engine.connect() as conn:
        found = Counter(wanted[id] for id in conn.execute(query).scalars())
    return {facts.id: found[facts.id] for facts in patients}


def _content_by_ids(resource_type: str) -> Select:
    resource = schema.resource
    return select(resource.c.content).where(
        resource.c.resource_type == resource_type,
        resource.c.id.in_(bindparam("ids", expanding=True)),
    )


def _matched(body: bytes) -> tuple[int | None, list[str]]:
    bundle = orjson.loads(body)
    ids = [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode", "match") == "match"
    ]
    return bundle.get("total"), ids


def run_searches(
    client: httpx.Client,
    fhir_base_url: str,
    engine: Engine,
    population: Population,
    *,
    runs: int,
    seed: int = 7,
    warmup: int = 10,
) -> list[SearchFigures]:
    """Time every query kind ``runs`` times over HTTP and its SQL baseline alongside."""
    results = []
    for kind in QUERY_KINDS:
        rng = random.Random(seed)
        eligible = [facts for facts in population.patients if kind.applies(facts)]
        cases = [
            kind.case(rng.choice(eligible), rng.randrange(population.copies), rng, population)
            for _ in range(warmup + runs)
        ]
        url = f"{fhir_base_url}/{kind.resource_type}"
        figures = SearchFigures(kind, str(httpx.URL(url, params=cases[0].params)))
        statement = _content_by_ids(kind.resource_type)
        with engine.connect() as conn:
            for index, case in enumerate(cases):
                _run_one(client, url, conn, statement, case, figures, counted=index >= warmup)
        results.append(figures)
    return results


def _run_one(
    client: httpx.Client,
    url: str,
    conn: Connection,
    statement: Select,
    case: Case,
    figures: SearchFigures,
    *,
    counted: bool,
) -> None:
    started = time.perf_counter()
    response = client.get(url, params=case.params)
    http_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        figures.errors += counted
        return
    total, ids = _matched(response.content)
    started = time.perf_counter()
    rows = conn.execute(statement, {"ids": ids}).all()
    conn.rollback()
    sql_ms = (time.perf_counter() - started) * 1000
    if not counted:
        return
    figures.http_ms.append(http_ms)
    figures.sql_ms.append(sql_ms)
    figures.matches.append(len(rows))
    figures.unexpected_totals += total != case.expected_total
