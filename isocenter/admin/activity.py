"""``/admin/activity``: recent sign-ins and token grants, and revoking a user's grants.

Sign-ins are the ``browser_session`` rows; grants are the ``authorization`` rows (a user's
consent to an app, what the management page lists); login, token and revocation events
are the audit trail's (``auth.audit``). Revoking goes through the revocation list, so the
access tokens already issued stop working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import Engine, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from isocenter.admin.services import admin
from isocenter.auth import audit
from isocenter.auth.database import reading
from isocenter.store.instants import to_instant
from isocenter.store.schema import app, authorization, browser_session

RECENT = 50
AUDITED_ACTIONS = ("login", "token", "revoke")


@dataclass(frozen=True)
class Grant:
    created: str
    username: str | None
    app_name: str
    scope: str
    patient_id: str | None
    expires: str
    revoked: str


@dataclass(frozen=True)
class SignIn:
    started: str
    username: str
    ends: str
    ending: str  # "until" (still live or expired) or "signed out"


@dataclass(frozen=True)
class Event:
    recorded: str
    action: str
    username: str | None
    client_id: str | None
    patient_id: str | None
    outcome: int


async def activity(request: Request) -> Response:
    """``GET /admin/activity``."""
    return await admin(request).gate.serve(request, _page)


async def revoke_user_grants(request: Request) -> Response:
    """``POST /admin/users/revoke-grants``."""
    return await admin(request).gate.serve(request, _revoke_user)


def recent_grants(engine: Engine, limit: int = RECENT) -> list[Grant]:
    """The newest grants, with the app's name (or its client id, once it is deleted)."""
    statement = (
        select(authorization, app.c.name)
        .select_from(authorization.outerjoin(app, app.c.client_id == authorization.c.client_id))
        .order_by(authorization.c.created_at.desc())
        .limit(limit)
    )
    with reading(engine) as conn:
        rows = conn.execute(statement).all()
    return [
        Grant(
            created=_instant(row.created_at),
            username=row.username,
            app_name=row.name or row.client_id,
            scope=row.scope,
            patient_id=row.patient_id,
            expires=_instant(row.expires_at),
            revoked=_instant(row.revoked_at),
        )
        for row in rows
    ]


def recent_sign_ins(engine: Engine, limit: int = RECENT) -> list[SignIn]:
    """The newest sign-in sessions of the site (pages, authorize, admin, EHR)."""
    table = browser_session
    statement = select(table).order_by(table.c.created_at.desc()).limit(limit)
    with reading(engine) as conn:
        rows = conn.execute(statement).all()
    return [
        SignIn(
            _instant(row.created_at),
            row.username,
            _instant(row.ended_at) or _instant(row.expires_at),
            "signed out" if row.ended_at else "until",
        )
        for row in rows
    ]


def recent_events(engine: Engine, limit: int = RECENT) -> list[Event]:
    """The newest sign-in, token and revocation audit events."""
    return [
        Event(
            _instant(event.recorded_at),
            event.action,
            event.username,
            event.client_id,
            event.patient_id,
            event.outcome,
        )
        for event in audit.recent(engine, limit=limit, actions=AUDITED_ACTIONS)
    ]


def _page(request: Request, form: FormData | None) -> Response:
    parts = admin(request)
    done = request.query_params.get("revoked")
    notice = f"Revoked every grant of {done}." if done else None
    return parts.renderer.render(
        request,
        "admin/activity.html",
        title="Sign-ins and grants",
        section="activity",
        grants=recent_grants(parts.engine),
        sign_ins=recent_sign_ins(parts.engine),
        events=recent_events(parts.engine),
        notice=notice,
    )


def _revoke_user(request: Request, form: FormData | None) -> Response:
    parts = admin(request)
    username = str(form.get("username") or "").strip() if form is not None else ""
    if parts.users.get(username) is None:
        message = f"No user is called {username!r}."
        return parts.renderer.render(
            request, "error.html", status=404, title="Not found", message=message
        )
    parts.revocations.revoke_user(username)
    return parts.renderer.redirect("/admin/activity?" + urlencode({"revoked": username}))


def _instant(microseconds: int | None) -> str:
    return to_instant(microseconds)[:19].replace("T", " ") + " UTC" if microseconds else ""
