"""History: instance, type and system, newest first, with paging (R4 http.html#history)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir.conftest import BASE_URL, FHIR_BASE, Client, assert_outcome, patient, put


def links(bundle: dict[str, Any]) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle.get("link", [])}


def follow(client: Client, url: str) -> dict[str, Any]:
    assert url.startswith(BASE_URL), url
    response = client.get(url.removeprefix(BASE_URL))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def versions(bundle: dict[str, Any]) -> list[str]:
    return [entry["response"]["etag"] for entry in bundle.get("entry", [])]


def test_instance_history_lists_versions_newest_first(client: Client) -> None:
    put(client, patient())
    put(client, patient(family="B"))
    client.delete("/fhir/Patient/p1")
    bundle = client.get("/fhir/Patient/p1/_history").json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    assert versions(bundle) == ['W/"3"', 'W/"2"', 'W/"1"']
    deleted, updated, created = bundle["entry"]
    assert "resource" not in deleted
    assert deleted["request"] == {"method": "DELETE", "url": "Patient/p1"}
    assert updated["request"] == {"method": "PUT", "url": "Patient/p1"}
    assert updated["resource"]["name"][0]["family"] == "B"
    assert created["request"] == {"method": "POST", "url": "Patient"}
    assert created["response"]["status"] == "201 Created"
    assert created["fullUrl"] == f"{FHIR_BASE}/Patient/p1"
    assert created["response"]["lastModified"].endswith("Z")
    assert links(bundle)["self"] == f"{FHIR_BASE}/Patient/p1/_history"


def test_type_history_holds_only_that_type(client: Client) -> None:
    put(client, patient("a"))
    put(client, {"resourceType": "Organization", "id": "o1", "name": "Clinic"})
    put(client, patient("b"))
    bundle = client.get("/fhir/Patient/_history").json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["b", "a"]
    assert bundle["total"] == 2


def test_system_history_holds_every_type(client: Client) -> None:
    put(client, patient("a"))
    put(client, {"resourceType": "Organization", "id": "o1", "name": "Clinic"})
    bundle = client.get("/fhir/_history").json()
    assert [e["fullUrl"] for e in bundle["entry"]] == [
        f"{FHIR_BASE}/Organization/o1",
        f"{FHIR_BASE}/Patient/a",
    ]


def test_history_of_an_unknown_resource_is_404(client: Client) -> None:
    assert_outcome(client.get("/fhir/Patient/nobody/_history"), 404, "not-found")
    assert_outcome(client.get("/fhir/Spaceship/_history"), 404)


def test_paging_walks_every_version_once(client: Client) -> None:
    for number in range(7):
        put(client, patient(family=f"F{number}"))
    page = client.get("/fhir/Patient/p1/_history?_count=3").json()
    assert page["total"] == 7
    seen = versions(page)
    while "next" in links(page):
        page = follow(client, links(page)["next"])
        seen += versions(page)
    assert seen == [f'W/"{n}"' for n in range(7, 0, -1)]


def test_versions_written_between_pages_do_not_shift_later_pages(client: Client) -> None:
    for number in range(4):
        put(client, patient(family=f"F{number}"))
    first = client.get("/fhir/Patient/p1/_history?_count=2").json()
    put(client, patient(family="late"))
    second = follow(client, links(first)["next"])
    assert versions(first) == ['W/"4"', 'W/"3"']
    assert versions(second) == ['W/"2"', 'W/"1"']


def test_count_zero_gives_the_total_only(client: Client) -> None:
    put(client, patient())
    bundle = client.get("/fhir/Patient/p1/_history?_count=0").json()
    assert bundle["total"] == 1
    assert "entry" not in bundle


def test_since_keeps_versions_from_that_instant(client: Client) -> None:
    put(client, patient())
    second = put(client, patient(family="B")).json()["meta"]["lastUpdated"]
    put(client, patient(family="C"))
    bundle = client.get("/fhir/Patient/p1/_history", params={"_since": second}).json()
    assert versions(bundle) == ['W/"3"', 'W/"2"']
    assert bundle["total"] == 2


def test_at_keeps_the_version_current_at_that_instant(client: Client) -> None:
    put(client, patient())
    second = put(client, patient(family="B")).json()["meta"]["lastUpdated"]
    put(client, patient(family="C"))
    bundle = client.get("/fhir/Patient/p1/_history", params={"_at": second}).json()
    assert versions(bundle) == ['W/"2"']
    year = client.get("/fhir/Patient/p1/_history", params={"_at": second[:4]}).json()
    assert versions(year) == ['W/"3"', 'W/"2"', 'W/"1"']


@pytest.mark.parametrize(
    "query",
    ["_cursor=AAAA", "_cursor=not-a-cursor", "_count=many", "_since=yesterday", "color=red"],
)
def test_bad_history_parameters_are_400(client: Client, query: str) -> None:
    put(client, patient())
    assert_outcome(client.get(f"/fhir/Patient/p1/_history?{query}"), 400, "invalid")


def test_unknown_parameter_is_ignored_when_lenient(client: Client) -> None:
    put(client, patient())
    response = client.get(
        "/fhir/Patient/p1/_history?color=red", headers={"Prefer": "handling=lenient"}
    )
    assert response.status_code == 200


def test_count_above_the_maximum_is_clamped(client: Client) -> None:
    put(client, patient())
    bundle = client.get("/fhir/_history?_count=100000").json()
    assert len(bundle["entry"]) == 1
