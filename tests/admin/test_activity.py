"""``/admin/activity``: recent sign-ins, grants and audit events; revoking grants."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from isocenter.auth import audit
from isocenter.auth.clients import App
from isocenter.auth.server import AuthServer
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import access_token, authorization
from tests.admin.harness import Web, hidden_fields, sign_in

pytestmark = pytest.mark.usefixtures("people")


@pytest.fixture
def granted(auth: AuthServer) -> App:
    """Ana's grant to "Cancer Journal", with access token ``j1`` issued under it."""
    app, _ = auth.apps.register(
        name="Cancer Journal",
        client_type="public",
        redirect_uris=["https://journal.example.org/cb"],
        scopes="launch/patient patient/*.rs",
    )
    now = now_microseconds()
    with auth.apps.engine.begin() as conn:
        conn.execute(
            insert(authorization).values(
                authorization_id="g1",
                username="ana",
                client_id=app.client_id,
                scope="launch/patient patient/Observation.rs",
                patient_id="p1",
                created_at=now,
                expires_at=now + 3600 * 1_000_000,
            )
        )
        conn.execute(
            insert(access_token).values(
                jti="j1",
                authorization_id="g1",
                client_id=app.client_id,
                expires_at=now + 3600 * 1_000_000,
            )
        )
    return app


@pytest.fixture
def admin_web(web: Web) -> Web:
    sign_in(web, "root", "/admin/activity")
    return web


def revoked_at(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(authorization.c.revoked_at)).scalar_one()


def test_the_page_lists_sign_ins_grants_and_audit_events(
    admin_web: Web, granted: App, auth: AuthServer
) -> None:
    audit.record(auth.apps.engine, action="revoke", outcome=200, client_id=granted.client_id)

    page = admin_web.get("/admin/activity")

    assert page.status_code == 200
    assert "Cancer Journal" in page.text and "patient/Observation.rs" in page.text
    assert "<td>root</td>" in page.text  # this very sign-in
    assert "<td>revoke</td>" in page.text


def test_revoking_a_users_grants_marks_them_revoked(
    admin_web: Web, granted: App, auth: AuthServer
) -> None:
    page = admin_web.get("/admin/activity")

    response = admin_web.post(
        "/admin/users/revoke-grants", data={**hidden_fields(page.text), "username": "ana"}
    )

    assert response.status_code == 303
    assert revoked_at(auth.apps.engine) is not None
    assert auth.revocations.is_revoked("j1")
    assert "Revoked " in admin_web.get("/admin/activity").text


def test_revoking_an_apps_grants_from_its_page(
    admin_web: Web, granted: App, auth: AuthServer
) -> None:
    page = admin_web.get(f"/admin/apps/{granted.client_id}")

    response = admin_web.post(
        f"/admin/apps/{granted.client_id}/revoke-grants", data=hidden_fields(page.text)
    )

    assert response.headers["location"] == f"/admin/apps/{granted.client_id}?done=revoked"
    assert revoked_at(auth.apps.engine) is not None


def test_disabling_an_app_revokes_its_grants(
    admin_web: Web, granted: App, auth: AuthServer
) -> None:
    page = admin_web.get(f"/admin/apps/{granted.client_id}")

    admin_web.post(f"/admin/apps/{granted.client_id}/disable", data=hidden_fields(page.text))

    assert revoked_at(auth.apps.engine) is not None
    assert auth.revocations.is_revoked("j1")  # the guard of this process refuses it now
