"""Search over HTTP: searchset Bundles, links, modes, POST _search (R4 http.html#search)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fhir.conftest import FHIR_BASE, Client, assert_outcome, patient, put
from tests.fhir.test_history import follow, links


def observation(id: str, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{subject}"},
    }


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [
        entry["resource"]["id"]
        for entry in bundle.get("entry", [])
        if entry["search"]["mode"] == mode
    ]


def test_search_answers_a_searchset_with_total_and_absolute_links(client: Client) -> None:
    put(client, patient("a", "Curie"))
    put(client, patient("b", "Pasteur"))
    response = client.get("/fhir/Patient?family=curie")
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["total"] == 1
    (entry,) = bundle["entry"]
    assert entry["fullUrl"] == f"{FHIR_BASE}/Patient/a"
    assert entry["search"] == {"mode": "match"}
    assert entry["resource"]["name"] == [{"family": "Curie"}]
    self_link = links(bundle)["self"]
    assert self_link.startswith(f"{FHIR_BASE}/Patient?")
    assert ("family", "curie") in parse_qsl(urlsplit(self_link).query)


def test_next_and_previous_links_walk_every_match_once(client: Client) -> None:
    for number in range(5):
        put(client, patient(f"p{number}", "Curie"))
    page = client.get("/fhir/Patient?family=Curie&_count=2").json()
    assert page["total"] == 5 and "previous" not in links(page)
    seen = ids(page)
    while "next" in links(page):
        page = follow(client, links(page)["next"])
        assert page["total"] == 5
        seen += ids(page)
    assert sorted(seen) == [f"p{number}" for number in range(5)]
    back = follow(client, links(page)["previous"])
    assert len(ids(back)) == 2


def test_post_search_merges_form_body_and_query(client: Client) -> None:
    put(client, patient("a", "Curie", gender="female"))
    put(client, patient("b", "Curie", gender="male"))
    response = client.post(
        "/fhir/Patient/_search?gender=female",
        content=b"family=Curie",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert ids(response.json()) == ["a"]


def test_post_search_needs_a_form_body(client: Client) -> None:
    response = client.post(
        "/fhir/Patient/_search", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert_outcome(response, 415, "not-supported")
    # The answer names the media type that is wanted, not the one that was sent.
    assert "application/x-www-form-urlencoded" in response.json()["issue"][0]["diagnostics"]


def test_include_entries_have_mode_include(client: Client) -> None:
    put(client, patient("a"))
    put(client, observation("o1", "a"))
    bundle = client.get("/fhir/Observation?_include=Observation:subject").json()
    assert ids(bundle) == ["o1"]
    assert ids(bundle, "include") == ["a"]
    assert bundle["total"] == 1


def test_summary_count_gives_the_total_only(client: Client) -> None:
    put(client, patient("a"))
    put(client, patient("b"))
    bundle = client.get("/fhir/Patient?_summary=count").json()
    assert bundle["total"] == 2
    assert "entry" not in bundle


def test_elements_subsets_each_match(client: Client) -> None:
    put(client, patient("a", gender="female", birthDate="1867-11-07"))
    bundle = client.get("/fhir/Patient?_elements=gender").json()
    resource = bundle["entry"][0]["resource"]
    assert resource["gender"] == "female"
    assert "birthDate" not in resource and "name" not in resource
    assert resource["meta"]["tag"][-1]["code"] == "SUBSETTED"


def test_unknown_parameter_is_400_unless_lenient(client: Client) -> None:
    put(client, patient("a"))
    assert_outcome(client.get("/fhir/Patient?colour=red"), 400, "invalid")
    response = client.get("/fhir/Patient?colour=red", headers={"Prefer": "handling=lenient"})
    assert response.status_code == 200
    assert "colour" not in links(response.json())["self"]


def test_search_of_an_unknown_type_is_404(client: Client) -> None:
    assert_outcome(client.get("/fhir/Spaceship?name=x"), 404)


def test_search_without_matches_has_total_zero_and_no_entries(client: Client) -> None:
    bundle = client.get("/fhir/Patient?family=nobody").json()
    assert bundle["total"] == 0
    assert "entry" not in bundle


def test_format_and_pretty_are_accepted_on_search(client: Client) -> None:
    put(client, patient("a"))
    response = client.get("/fhir/Patient?_format=json&_pretty=true")
    assert response.status_code == 200
    assert ids(response.json()) == ["a"]
