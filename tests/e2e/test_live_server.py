"""The fixtures themselves: the live server answers over a socket, the browser reaches it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.live import LiveServer


def test_metadata_answers_over_a_real_socket(live: LiveServer) -> None:
    response = httpx.get(live.fhir_base + "/metadata", timeout=10)

    assert response.status_code == 200
    assert response.json()["fhirVersion"] == "4.0.1"


def test_chromium_renders_the_capability_statement(live: LiveServer, page: Any) -> None:
    page.goto(live.fhir_base + "/metadata?_format=json")

    assert "CapabilityStatement" in page.content()


def test_first_start_printed_every_demo_login_once(live: LiveServer) -> None:
    printed = "\n".join(live.printed)

    assert {login.role for login in live.logins} == {"admin", "clinician", "patient"}
    for login in live.logins:
        assert printed.count(login.password) == 1
        assert login.username in printed
