"""``/auth/authorize``: sign-in, patient picker and consent, then the code back to the app.

RFC 6749 §4.1.1-§4.1.2 and SMART App Launch 2.x (app-launch.html#obtain-authorization-code,
including authorize-post). The request is checked afresh on every page of the flow: its
parameters travel in hidden form fields, so the server keeps nothing per request until the
user approves, and a tampered field fails the same checks as a tampered URL. Each page's
form carries a CSRF token and names its ``step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth import consent, picker
from isocenter.auth.authorization_request import (
    PARAMETERS,
    AuthorizationRequest,
    PageError,
    RedirectError,
    parse,
    redirect_to,
)
from isocenter.auth.browser import Browser, browser
from isocenter.auth.codes import Approval
from isocenter.auth.errors import AccessDenied, InvalidRequest
from isocenter.auth.launch import LaunchContext, LaunchRefused, look_up
from isocenter.auth.pages import when
from isocenter.auth.picker import PatientChoice, PickerError
from isocenter.auth.refresh import ONLINE, lasts_beyond_session, wants_refresh
from isocenter.auth.scopes import parse_scope
from isocenter.auth.sessions import CSRF_FIELD, BrowserSession, CsrfRefused, check_csrf
from isocenter.auth.signin import SIGNIN_PATH
from isocenter.auth.style import style_url
from isocenter.auth.users import User
from isocenter.store.instants import now_microseconds

AUTHORIZE_PATH = "/auth/authorize"
USER_ROLES = ("patient", "clinician")


@dataclass(frozen=True)
class Step:
    """What the browser sent besides the authorization request: which page, and its form."""

    name: str | None  # None: the app's request; else "search", "pick" or "consent"
    form: FormData | None

    def value(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

    def values(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, str)]


@dataclass(frozen=True)
class LaunchedWith:
    """The launch context the grant will carry."""

    patient: PatientChoice | None
    encounter_id: str | None
    ehr: LaunchContext | None  # the EHR launch handle, spent when the code is issued


async def authorize(request: Request) -> Response:
    """``GET|POST /auth/authorize``."""
    parts = browser(request)
    step = Step(None, None)
    pairs: list[tuple[str, str]] = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        if "step" not in form:
            # authorize-post from the app: continue as GET, which carries the SameSite=Lax
            # session cookie that a cross-site POST does not.
            return parts.pages.redirect(authorize_url(pairs))
        step = Step(str(form["step"]), form)
    return await run_in_threadpool(_authorize, parts, request, pairs, step)


def authorize_url(pairs: Sequence[tuple[str, str]]) -> str:
    return AUTHORIZE_PATH + "?" + urlencode([(k, v) for k, v in pairs if k in PARAMETERS])


def _authorize(
    parts: Browser, request: Request, pairs: list[tuple[str, str]], step: Step
) -> Response:
    try:
        asked = parse(pairs, parts.apps.get, fhir_base_url=parts.settings.fhir_base_url)
        return _signed_in_flow(parts, request, asked, step)
    except PageError as error:
        return parts.pages.error(request, error.title, error.message)
    except RedirectError as error:
        return parts.pages.redirect(error.url)
    except CsrfRefused as error:
        return parts.pages.error(request, "Form expired", str(error), status=403)


def _signed_in_flow(
    parts: Browser, request: Request, asked: AuthorizationRequest, step: Step
) -> Response:
    session = parts.sessions.current(request)
    user = parts.users.get(session.username) if session is not None else None
    if session is None or user is None or not user.enabled:
        return parts.pages.redirect(
            SIGNIN_PATH + "?" + urlencode({"next": authorize_url(asked.parameters)})
        )
    if step.name is not None:
        check_csrf(request, step.value(CSRF_FIELD))
    if user.role not in USER_ROLES:
        raise asked.fail(AccessDenied("only patients and clinicians can authorize apps"))
    launched = _launch_context(parts, asked, user, step)
    if launched is None:
        return _picker_page(parts, request, asked, step)
    if step.name != "consent":
        return _consent_page(parts, request, asked, user, session, launched)
    return _decide(parts, asked, user, session, launched, step)


def _launch_context(
    parts: Browser, asked: AuthorizationRequest, user: User, step: Step
) -> LaunchedWith | None:
    """The patient (and encounter) the grant is for; None when the user must pick one."""
    if asked.launch is not None:
        return _ehr_launch(parts, asked, user)
    if user.role == "patient":
        own = picker.patient_choice(parts.store, user.patient_id or "")
        if own is None:
            raise asked.fail(AccessDenied("this account is not linked to a patient record"))
        return LaunchedWith(own, None, None)
    if not _needs_patient(asked.scope):
        return LaunchedWith(None, None, None)
    chosen = step.value("patient") if step.name in ("pick", "consent") else ""
    patient = picker.patient_choice(parts.store, chosen) if chosen else None
    return LaunchedWith(patient, None, None) if patient is not None else None


def _ehr_launch(parts: Browser, asked: AuthorizationRequest, user: User) -> LaunchedWith:
    # SMART EHR launch: the handle is bound to the clinician who opened the app.
    assert asked.launch is not None
    try:
        handle = look_up(
            parts.engine, asked.launch, username=user.username, client_id=asked.app.client_id
        )
    except LaunchRefused as exc:
        raise asked.fail(InvalidRequest(str(exc))) from exc
    patient = picker.patient_choice(parts.store, handle.patient_id or "")
    if handle.patient_id is not None and patient is None:
        raise asked.fail(InvalidRequest("the launch's patient no longer exists"))
    return LaunchedWith(patient, handle.encounter_id, handle)


def _needs_patient(scope: str) -> bool:
    return any(s.text == "launch/patient" or s.context == "patient" for s in parse_scope(scope))


def _picker_page(
    parts: Browser, request: Request, asked: AuthorizationRequest, step: Step
) -> Response:
    criteria: dict[str, Any] = {
        "name": step.value("name"),
        "birth_date": step.value("birthdate"),
        "mrn": step.value("mrn"),
    }
    patients: list[PatientChoice] = []
    error = ""
    if step.name == "search":
        try:
            patients = picker.find_patients(parts.search, **criteria)
        except PickerError as exc:
            error = f"That search could not run: {exc}"
    return parts.pages.render(
        request,
        "picker.html",
        title="Choose a patient",
        app_name=asked.app.name,
        request_fields=asked.parameters,
        searched=step.name == "search",
        patients=patients,
        error=error,
        **criteria,
    )


def _consent_page(
    parts: Browser,
    request: Request,
    asked: AuthorizationRequest,
    user: User,
    session: BrowserSession,
    launched: LaunchedWith,
) -> Response:
    scope = _in_context(asked.scope, launched)
    lasts, until = _lasts(parts, scope, session)
    return parts.pages.render(
        request,
        "consent.html",
        title=f"Allow {asked.app.name} to read your records?"
        if user.role == "patient"
        else f"Allow {asked.app.name} access?",
        app_name=asked.app.name,
        logo_url=asked.app.logo_url,
        signed_in_as=user.display_name or user.username,
        request_fields=asked.parameters,
        patient=launched.patient,
        whose=_whose(user, launched, scope),
        items=consent.items(scope, parts.resource_types),
        special=consent.special_words(scope),
        lasts=lasts,
        until=when(until),
        period=f"{parts.settings.refresh_token_lifetime_seconds // 86400} days",
    )


def _decide(
    parts: Browser,
    asked: AuthorizationRequest,
    user: User,
    session: BrowserSession,
    launched: LaunchedWith,
    step: Step,
) -> Response:
    if step.value("decision") != "approve":
        raise asked.fail(AccessDenied("the user declined"))
    offered = _in_context(asked.scope, launched)
    scope = consent.narrowed(offered, step.values("type"), parts.resource_types)
    if _reads_something(offered) and not _reads_something(scope):
        raise asked.fail(AccessDenied("the user allowed none of the records asked for"))
    approval = Approval(
        username=user.username,
        client_id=asked.app.client_id,
        scope=scope,
        patient_id=launched.patient.id if launched.patient else None,
        encounter_id=launched.encounter_id,
        redirect_uri=asked.redirect_uri,
        code_challenge=asked.code_challenge,
        nonce=asked.nonce,
        context=_token_context(parts, launched),
        expires_at=_lasts(parts, scope, session)[1],
    )
    try:
        code = parts.codes.issue(approval, launched.ehr)
    except LaunchRefused as exc:
        raise asked.fail(InvalidRequest(str(exc))) from exc
    return parts.pages.redirect(
        redirect_to(asked.redirect_uri, {"code": code, "state": asked.state})
    )


def _reads_something(scope: str) -> bool:
    return any(s.is_resource for s in parse_scope(scope))


def _in_context(scope: str, launched: LaunchedWith) -> str:
    """The scope less the launch context this grant cannot carry (no encounter chosen)."""
    dropped = set() if launched.ehr is not None else {"launch"}
    if launched.encounter_id is None:
        dropped.add("launch/encounter")
    if launched.patient is None:
        dropped.add("launch/patient")
    return " ".join(s.text for s in parse_scope(scope) if s.text not in dropped)


def _token_context(parts: Browser, launched: LaunchedWith) -> dict[str, Any]:
    """The launch context the token response carries (SMART launch context parameters)."""
    context: dict[str, Any] = {"smart_style_url": style_url(parts.settings.base_url)}
    if launched.patient is not None:
        context["patient"] = launched.patient.id
        # An EHR launch opens the app inside a chart that already shows the patient.
        context["need_patient_banner"] = launched.ehr is None
    if launched.encounter_id is not None:
        context["encounter"] = launched.encounter_id
    return context


def _lasts(parts: Browser, scope: str, session: BrowserSession) -> tuple[str, int]:
    """How long the grant lasts: ("offline"|"online"|"token", until µs)."""
    if lasts_beyond_session(scope):
        return "offline", parts.refresh_tokens.offline_expiry()
    if wants_refresh(scope) and any(s.text == ONLINE for s in parse_scope(scope)):
        return "online", session.expires_at
    seconds = (
        parts.settings.access_token_lifetime_seconds
        + parts.settings.authorization_code_lifetime_seconds
    )
    return "token", now_microseconds() + seconds * 1_000_000


def _whose(user: User, launched: LaunchedWith, scope: str) -> str:
    if user.role == "patient":
        return "about you"
    user_wide = any(s.context == "user" for s in parse_scope(scope))
    if launched.patient is not None and not user_wide:
        return f"about {launched.patient.name}"
    return "about every patient you can see"
