"""``/ehr``: the clinician's side of the EHR, which launches registered apps in context.

A signed-in clinician finds a patient (name, birth date, MRN), opens the chart and picks
an app; the EHR makes a launch handle bound to that clinician, patient, app and (when
chosen) encounter, and sends the browser to the app's launch URL with ``iss`` and
``launch`` (SMART App Launch 2.x, app-launch.html#launch-app-ehr-launch).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from isocenter.auth.clients import App
from isocenter.auth.picker import PickerError, find_patients
from isocenter.ehr.chart import chart
from isocenter.ehr.launches import create_launch
from isocenter.ehr.services import Ehr, ehr
from isocenter.outcomes import OperationOutcomeError

SEARCH_FIELDS = ("name", "birth_date", "mrn")


async def search(request: Request) -> Response:
    """``GET /ehr``: the patient search."""
    return await ehr(request).gate.serve(request, _search)


async def patient_chart(request: Request) -> Response:
    """``GET /ehr/patients/{patient_id}``."""
    return await ehr(request).gate.serve(request, _chart)


async def launch(request: Request) -> Response:
    """``POST /ehr/patients/{patient_id}/launch``: open the chosen app in context."""
    return await ehr(request).gate.serve(request, _launch)


async def sign_out(request: Request) -> Response:
    """``POST /ehr/signout``."""
    return await ehr(request).gate.sign_out(request)


def launchable_apps(parts: Ehr) -> list[App]:
    """Enabled apps with a launch URL, by name."""
    apps = [app for app in parts.apps.list() if app.enabled and app.launch_url]
    return sorted(apps, key=lambda app: app.name.lower())


def launch_url(app_launch_url: str, *, iss: str, launch: str) -> str:
    """The app's launch URL with ``iss`` and ``launch`` added to any query it has."""
    parts = urlsplit(app_launch_url)
    added = urlencode({"iss": iss, "launch": launch})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def _search(request: Request, form: FormData | None) -> Response:
    parts = ehr(request)
    query = {name: request.query_params.get(name, "").strip() for name in SEARCH_FIELDS}
    patients: list[Any] = []
    error = ""
    try:
        patients = find_patients(parts.fhir.search_engine(), **query)
    except PickerError as exc:
        error = f"The search could not run: {exc}"
    return parts.renderer.render(
        request,
        "ehr/search.html",
        title="Find a patient",
        section="search",
        query=query,
        searched=any(query.values()) and not error,
        patients=patients,
        error=error,
    )


def _chart(request: Request, form: FormData | None, *, error: str = "") -> Response:
    parts = ehr(request)
    try:
        summary = chart(parts.fhir, request.path_params["patient_id"])
    except OperationOutcomeError:
        message = "There is no such patient."
        return parts.renderer.render(
            request, "error.html", status=404, title="Not found", message=message
        )
    return parts.renderer.render(
        request,
        "ehr/chart.html",
        status=400 if error else 200,
        title=summary.patient.name,
        section="chart",
        chart=summary,
        apps=launchable_apps(parts),
        error=error,
    )


def _launch(request: Request, form: FormData | None) -> Response:
    parts = ehr(request)
    patient_id = request.path_params["patient_id"]
    assert form is not None
    app = parts.apps.get(str(form.get("client_id") or ""))
    if app is None or not app.enabled or not app.launch_url:
        return _chart(request, None, error="Choose one of the apps listed.")
    encounter_id = str(form.get("encounter") or "") or None
    if not _patient_exists(parts, patient_id):
        return _chart(request, None)
    if encounter_id is not None and not _encounter_of(parts, encounter_id, patient_id):
        return _chart(request, None, error="That encounter is not this patient's.")
    handle = create_launch(
        parts.fhir.store.engine,
        username=request.state.user.username,
        patient_id=patient_id,
        encounter_id=encounter_id,
        client_id=app.client_id,
        lifetime_seconds=parts.fhir.settings.launch_lifetime_seconds,
    )
    target = launch_url(app.launch_url, iss=parts.fhir.fhir_base_url, launch=handle)
    return parts.renderer.redirect(target)


def _patient_exists(parts: Ehr, patient_id: str) -> bool:
    stored = parts.fhir.store.read("Patient", patient_id)
    return stored is not None and not stored.deleted


def _encounter_of(parts: Ehr, encounter_id: str, patient_id: str) -> bool:
    stored = parts.fhir.store.read("Encounter", encounter_id)
    if stored is None or stored.deleted:
        return False
    subject = stored.parsed().get("subject", {}).get("reference", "")
    return bool(
        subject == f"Patient/{patient_id}" or subject.endswith(f"/Patient/{patient_id}")
    )
