"""``/auth/manage``: the apps a signed-in patient or clinician has allowed, and revoking them.

SMART App Launch 2.x lists this page as the ``management_endpoint`` of the discovery
document (conformance.html#metadata): every live grant with what it may read and until
when; revoking one ends its refresh tokens and its access tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth import audit, consent, picker
from isocenter.auth.browser import Browser, browser
from isocenter.auth.database import reading
from isocenter.auth.pages import when
from isocenter.auth.sessions import CSRF_FIELD, BrowserSession, CsrfRefused, check_csrf
from isocenter.auth.signin import SIGNIN_PATH
from isocenter.store.instants import now_microseconds
from isocenter.store.schema import app as app_table
from isocenter.store.schema import authorization

MANAGE_PATH = "/auth/manage"


@dataclass(frozen=True)
class Grant:
    """One line of the page: an app and what the user let it read."""

    authorization_id: str
    client_id: str
    app_name: str
    logo_url: str | None
    reads: list[str]
    patient_id: str | None
    patient_name: str | None
    granted: str
    until: str


async def manage(request: Request) -> Response:
    """``GET|POST /auth/manage``: the list, and (POST) revoking one grant."""
    parts = browser(request)
    fields: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_manage, parts, request, fields)


def _manage(parts: Browser, request: Request, fields: dict[str, str]) -> Response:
    session = parts.sessions.current(request)
    if session is None:
        return parts.pages.redirect(SIGNIN_PATH + "?" + urlencode({"next": MANAGE_PATH}))
    if request.method != "POST":
        return _page(parts, request, session, revoked=request.query_params.get("revoked"))
    try:
        check_csrf(request, fields.get(CSRF_FIELD))
    except CsrfRefused as error:
        return parts.pages.error(request, "Form expired", str(error), status=403)
    grant = _own_grant(parts, session, fields.get("authorization_id", ""))
    if grant is None:
        return parts.pages.error(request, "Not found", "There is no such app access to revoke.")
    parts.revocations.revoke_authorization(grant.authorization_id)
    audit.record(
        parts.engine,
        action="revoke",
        outcome=200,
        client_id=grant.client_id,
        username=session.username,
        patient_id=grant.patient_id,
    )
    return parts.pages.redirect(MANAGE_PATH + "?" + urlencode({"revoked": grant.app_name}))


def _page(
    parts: Browser, request: Request, session: BrowserSession, *, revoked: str | None
) -> Response:
    user = parts.users.get(session.username)
    return parts.pages.render(
        request,
        "manage.html",
        title="Apps you have allowed",
        signed_in_as=(user.display_name if user else None) or session.username,
        grants=grants(parts, session.username),
        revoked=revoked,
    )


def grants(parts: Browser, username: str) -> list[Grant]:
    """The user's live grants, newest first."""
    now = now_microseconds()
    statement = (
        select(authorization, app_table.c.name, app_table.c.logo_url)
        .join(app_table, app_table.c.client_id == authorization.c.client_id)
        .where(
            authorization.c.username == username,
            authorization.c.revoked_at.is_(None),
            or_(authorization.c.expires_at.is_(None), authorization.c.expires_at > now),
        )
        .order_by(authorization.c.created_at.desc())
    )
    with reading(parts.engine) as conn:
        rows = conn.execute(statement).all()
    return [
        Grant(
            authorization_id=row.authorization_id,
            client_id=row.client_id,
            app_name=row.name,
            logo_url=row.logo_url,
            reads=[_words(item) for item in consent.items(row.scope, parts.resource_types)],
            patient_id=row.patient_id,
            patient_name=_patient_name(parts, row.patient_id),
            granted=when(row.created_at),
            until=when(row.expires_at) if row.expires_at else "you revoke it",
        )
        for row in rows
    ]


def _patient_name(parts: Browser, patient_id: str | None) -> str | None:
    patient = picker.patient_choice(parts.store, patient_id) if patient_id else None
    return patient.name if patient is not None else patient_id


def _own_grant(parts: Browser, session: BrowserSession, authorization_id: str) -> Grant | None:
    found = [
        g for g in grants(parts, session.username) if g.authorization_id == authorization_id
    ]
    return found[0] if found else None


def _words(item: consent.ConsentItem) -> str:
    only = f" (only where {item.only})" if item.only else ""
    return f"{item.label}: {item.access}{only}"
