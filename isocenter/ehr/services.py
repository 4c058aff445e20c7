"""The parts the EHR pages work with, built once per app from its state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

from isocenter.admin.pages import Gate, Renderer
from isocenter.auth.clients import Apps
from isocenter.auth.sessions import Sessions
from isocenter.fhir.context import FhirContext

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Ehr:
    fhir: FhirContext
    apps: Apps
    renderer: Renderer
    gate: Gate


def ehr(request: Request) -> Ehr:
    """The app's ``Ehr``, built on first use from the FHIR context and the auth core."""
    state = request.app.state
    found: Ehr | None = getattr(state, "ehr", None)
    if found is None:
        found = state.ehr = _from_state(state)
    return found


def _from_state(state: Any) -> Ehr:
    fhir: FhirContext = state.fhir
    settings = fhir.settings
    renderer = Renderer(TEMPLATES, secure=settings.base_url.startswith("https://"))
    sessions = Sessions(fhir.store.engine, lifetime_seconds=settings.session_lifetime_seconds)
    gate = Gate(sessions, state.auth.users, renderer, role="clinician", home="/ehr")
    return Ehr(fhir, state.auth.apps, renderer, gate)
