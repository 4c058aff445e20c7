"""``/admin/api``: authentication, CRUD on apps, validation and error statuses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.harness import Web, basic, csrf, sign_in

pytestmark = pytest.mark.usefixtures("people")

ADMIN = basic("root")
CALLBACK = "https://app.example.org/callback"


def new_app(**fields: Any) -> dict[str, Any]:
    return {
        "client_name": "Growth Chart",
        "client_type": "confidential-symmetric",
        "redirect_uris": [CALLBACK],
        "scope": "launch openid fhirUser patient/*.rs",
        "launch_url": "https://app.example.org/launch",
        **fields,
    }


def create(web: Web, **fields: Any) -> dict[str, Any]:
    response = web.post("/admin/api/apps", json=new_app(**fields), headers=ADMIN)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


class TestAuthentication:
    def test_no_credentials_answer_401_with_a_basic_challenge(self, web: Web) -> None:
        response = web.get("/admin/api/apps")

        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Basic realm="Isocenter')
        assert response.json()["error"] == "unauthorized"

    def test_a_wrong_password_answers_401(self, web: Web) -> None:
        assert web.get("/admin/api/apps", headers=basic("root", "wrong")).status_code == 401

    def test_a_clinician_answers_403(self, web: Web) -> None:
        assert web.get("/admin/api/apps", headers=basic("dr-lee")).status_code == 403

    def test_an_admin_session_works_and_needs_the_csrf_header_to_change_anything(
        self, web: Web
    ) -> None:
        sign_in(web, "root", "/admin/apps")

        assert web.get("/admin/api/apps").status_code == 200
        refused = web.post("/admin/api/apps", json=new_app())
        accepted = web.post(
            "/admin/api/apps", json=new_app(), headers={"X-CSRF-Token": csrf(web)}
        )
        assert refused.status_code == 403
        assert accepted.status_code == 201


class TestApps:
    def test_create_returns_201_the_document_the_secret_and_a_location(self, web: Web) -> None:
        response = web.post("/admin/api/apps", json=new_app(), headers=ADMIN)

        assert response.status_code == 201
        app = response.json()
        assert app["client_secret"] and app["client_id"]
        assert response.headers["location"].endswith(f"/admin/api/apps/{app['client_id']}")
        assert response.headers["cache-control"] == "no-store"

    def test_get_and_list_never_show_the_secret(self, web: Web) -> None:
        app = create(web)

        shown = web.get(f"/admin/api/apps/{app['client_id']}", headers=ADMIN)
        listed = web.get("/admin/api/apps", headers=ADMIN)

        assert shown.json()["client_name"] == "Growth Chart"
        assert "client_secret" not in shown.json()
        assert app["client_secret"] not in shown.text + listed.text
        assert [a["client_id"] for a in listed.json()["apps"]] == [app["client_id"]]

    def test_a_get_document_can_be_put_back_with_changes(self, web: Web) -> None:
        app = create(web)
        url = f"/admin/api/apps/{app['client_id']}"
        document = web.get(url, headers=ADMIN).json()
        document["redirect_uris"] = ["https://a.example/cb", "http://localhost:8000/cb"]

        response = web.put(url, json=document, headers=ADMIN)

        assert response.status_code == 200, response.text
        assert response.json()["redirect_uris"] == document["redirect_uris"]

    def test_the_client_type_cannot_change(self, web: Web) -> None:
        app = create(web)

        response = web.put(
            f"/admin/api/apps/{app['client_id']}",
            json=new_app(client_type="public"),
            headers=ADMIN,
        )

        assert response.status_code == 409

    def test_delete_answers_204_and_the_app_is_gone(self, web: Web) -> None:
        app = create(web)
        url = f"/admin/api/apps/{app['client_id']}"

        assert web.delete(url, headers=ADMIN).status_code == 204
        assert web.get(url, headers=ADMIN).status_code == 404

    def test_rotate_secret_returns_a_new_secret(self, web: Web) -> None:
        app = create(web)

        response = web.post(f"/admin/api/apps/{app['client_id']}/rotate-secret", headers=ADMIN)

        assert response.status_code == 200
        assert response.json()["client_secret"] not in ("", app["client_secret"])

    def test_a_public_app_has_no_secret_to_rotate(self, web: Web) -> None:
        app = create(web, client_type="public")

        response = web.post(f"/admin/api/apps/{app['client_id']}/rotate-secret", headers=ADMIN)

        assert response.status_code == 409

    def test_disable_returns_the_disabled_app(self, web: Web) -> None:
        app = create(web)

        response = web.post(f"/admin/api/apps/{app['client_id']}/disable", headers=ADMIN)

        assert response.status_code == 200
        assert response.json()["enabled"] is False

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", ""),
            ("PUT", ""),
            ("DELETE", ""),
            ("POST", "/rotate-secret"),
            ("POST", "/disable"),
        ],
    )
    def test_an_unknown_client_id_answers_404(self, web: Web, method: str, path: str) -> None:
        response = web.request(
            method, f"/admin/api/apps/nope{path}", json=new_app(), headers=ADMIN
        )

        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


class TestValidation:
    @pytest.mark.parametrize(
        "uri", ["http://app.example.org/cb", "/cb", "https://app.example.org/cb#x"]
    )
    def test_a_redirect_uri_must_be_absolute_https_or_loopback_http(
        self, web: Web, uri: str
    ) -> None:
        response = web.post("/admin/api/apps", json=new_app(redirect_uris=[uri]), headers=ADMIN)

        assert response.status_code == 422
        assert response.json()["field"] == "redirect_uris"

    def test_loopback_http_redirect_uris_are_accepted(self, web: Web) -> None:
        app = create(web, redirect_uris=["http://127.0.0.1:5000/cb", "http://[::1]/cb"])

        assert app["redirect_uris"] == ["http://127.0.0.1:5000/cb", "http://[::1]/cb"]

    def test_unknown_fields_and_bad_scopes_answer_422(self, web: Web) -> None:
        unknown = web.post("/admin/api/apps", json=new_app(colour="red"), headers=ADMIN)
        scopes = web.post("/admin/api/apps", json=new_app(scope="patient/*.sr"), headers=ADMIN)

        assert unknown.status_code == 422
        assert scopes.status_code == 422 and scopes.json()["field"] == "scope"

    def test_a_body_that_is_not_a_json_object_answers_400(self, web: Web) -> None:
        response = web.post(
            "/admin/api/apps",
            content=b"[1, 2]",
            headers={**ADMIN, "Content-Type": "application/json"},
        )
        broken = web.post(
            "/admin/api/apps",
            content=b"{",
            headers={**ADMIN, "Content-Type": "application/json"},
        )

        assert response.status_code == 400
        assert broken.status_code == 400

    def test_a_form_body_answers_415(self, web: Web) -> None:
        response = web.post("/admin/api/apps", data={"client_name": "X"}, headers=ADMIN)

        assert response.status_code == 415
