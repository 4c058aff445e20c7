"""The admin pages over HTTP: sign-in as a site admin, forms with CSRF, secrets shown once."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from isocenter.auth.server import AuthServer
from isocenter.store.schema import app as app_table
from tests.admin.harness import Web, hidden_fields, sign_in

pytestmark = pytest.mark.usefixtures("people")

CALLBACK = "https://app.example.org/callback"


def register_form(web: Web, **fields: str) -> httpx.Response:
    page = web.get("/admin/apps/new")
    assert page.status_code == 200, page.text
    data = {
        **hidden_fields(page.text),
        "name": "Growth Chart",
        "client_type": "confidential-symmetric",
        "redirect_uris": f"{CALLBACK}\nhttp://127.0.0.1:9000/cb",
        "launch_url": "https://app.example.org/launch",
        "scopes": "launch openid fhirUser patient/*.rs",
        **fields,
    }
    return web.post("/admin/apps/new", data=data)


def shown_secret(page: httpx.Response) -> tuple[str, str]:
    client_id = re.search(r'<code id="client-id">([^<]+)</code>', page.text)
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', page.text)
    assert client_id and secret, page.text
    return client_id[1], secret[1]


@pytest.fixture
def admin_web(web: Web) -> Web:
    assert sign_in(web, "root", "/admin/apps").headers["location"] == "/admin/apps"
    return web


def test_a_browser_without_a_session_is_sent_to_sign_in_and_back(web: Web) -> None:
    response = web.get("/admin/apps")

    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signin?next=%2Fadmin%2Fapps"


def test_a_clinician_is_refused_the_admin_pages(web: Web) -> None:
    sign_in(web, "dr-lee", "/admin/apps")

    response = web.get("/admin/apps")

    assert response.status_code == 403
    assert "these pages are for site admins" in response.text
    assert "dr-lee" in response.text


def test_registering_an_app_shows_its_client_id_and_secret_once(admin_web: Web) -> None:
    page = register_form(admin_web)

    assert page.status_code == 200
    client_id, secret = shown_secret(page)
    assert "shown only this once" in page.text
    assert page.headers["cache-control"] == "no-store"
    edit = admin_web.get(f"/admin/apps/{client_id}")
    listing = admin_web.get("/admin/apps")
    assert "Growth Chart" in listing.text and client_id in listing.text
    assert secret not in edit.text + listing.text


def test_pages_cannot_be_framed(admin_web: Web) -> None:
    response = admin_web.get("/admin/apps")

    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_form_without_the_csrf_token_is_refused(admin_web: Web) -> None:
    response = admin_web.post("/admin/apps/new", data={"name": "X", "client_type": "public"})

    assert response.status_code == 403
    assert "expired" in response.text


def test_a_plain_http_redirect_uri_is_refused_with_the_field_named(
    admin_web: Web, auth: AuthServer
) -> None:
    page = register_form(admin_web, redirect_uris="http://app.example.org/cb")

    assert page.status_code == 400
    assert 'aria-invalid="true"' in page.text
    assert "must use https" in page.text
    assert 'value="Growth Chart"' in page.text  # what was typed is kept
    assert auth.apps.list() == []


def test_editing_an_app_changes_its_registration(admin_web: Web, auth: AuthServer) -> None:
    client_id, _ = shown_secret(register_form(admin_web))
    page = admin_web.get(f"/admin/apps/{client_id}")
    data = {
        **hidden_fields(page.text, form=1),
        "name": "Growth Chart 2",
        "redirect_uris": "https://new.example.org/cb",
        "scopes": "launch openid",
    }

    response = admin_web.post(f"/admin/apps/{client_id}", data=data)

    assert response.status_code == 303
    app = auth.apps.get(client_id)
    assert app is not None
    assert app.name == "Growth Chart 2"
    assert app.redirect_uris == ("https://new.example.org/cb",)
    assert app.client_type == "confidential-symmetric"


def post_action(web: Web, client_id: str, action: str) -> httpx.Response:
    page = web.get(f"/admin/apps/{client_id}")
    return web.post(f"/admin/apps/{client_id}/{action}", data=hidden_fields(page.text))


def test_rotating_the_secret_shows_a_new_one_once(admin_web: Web, auth: AuthServer) -> None:
    client_id, secret = shown_secret(register_form(admin_web))

    page = post_action(admin_web, client_id, "rotate-secret")

    _, rotated = shown_secret(page)
    assert rotated != secret
    with auth.apps.engine.connect() as conn:
        stored = conn.execute(select(app_table.c.secret_hash)).scalar_one()
    assert rotated not in stored and stored.startswith("$argon2")


def test_disabling_and_deleting_an_app(admin_web: Web, auth: AuthServer) -> None:
    client_id, _ = shown_secret(register_form(admin_web))

    disabled = post_action(admin_web, client_id, "disable")
    assert disabled.headers["location"] == f"/admin/apps/{client_id}?done=disabled"
    disabled_app = auth.apps.get(client_id)
    assert disabled_app is not None and disabled_app.enabled is False

    confirm = admin_web.get(f"/admin/apps/{client_id}/delete")
    assert "cannot be undone" in confirm.text
    deleted = admin_web.post(
        f"/admin/apps/{client_id}/delete", data=hidden_fields(confirm.text)
    )
    assert deleted.headers["location"] == "/admin/apps?done=deleted"
    assert auth.apps.get(client_id) is None


def test_an_unknown_app_answers_404(admin_web: Web) -> None:
    assert admin_web.get("/admin/apps/nope").status_code == 404


def test_the_activity_page_lists_grants_and_revokes_a_users_grants(
    admin_web: Web, auth: AuthServer
) -> None:
    page = admin_web.get("/admin/activity")
    assert page.status_code == 200
    fields = hidden_fields(page.text, form=1)

    revoked = admin_web.post("/admin/users/revoke-grants", data={**fields, "username": "ana"})
    unknown = admin_web.post(
        "/admin/users/revoke-grants", data={**fields, "username": "nobody"}
    )

    assert revoked.headers["location"] == "/admin/activity?revoked=ana"
    assert unknown.status_code == 404


def test_signing_out_ends_the_session(admin_web: Web) -> None:
    page = admin_web.get("/admin/apps")
    response = admin_web.post("/admin/signout", data=hidden_fields(page.text, form=0))

    assert response.status_code == 303
    assert admin_web.get("/admin/apps").status_code == 303
