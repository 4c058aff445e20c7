"""What the end-to-end tests know about the live server: its URLs, logins and test apps.

``seed`` makes them through the product's own code paths: the demo logins by the function
``isocenter serve`` runs on first start (passwords read from what it prints), and the apps
through the registration checks and registry that ``isocenter apps add`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from isocenter.admin.demo_logins import create_demo_logins
from isocenter.admin.fields import app_fields
from isocenter.auth.clients import Apps
from isocenter.config import Settings
from tests.e2e.servers import RedirectTarget

# What the test apps may ask for: every launch, identity and lifetime scope, and reads in
# both v1 and v2 forms for patient and user contexts.
APP_SCOPES = (
    "launch launch/patient launch/encounter openid fhirUser profile offline_access "
    "online_access patient/*.read patient/*.rs user/*.read user/*.rs"
)


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    linked_to: str  # "Patient/demo-p01", "Practitioner/...", "" for the admin

    @property
    def linked_id(self) -> str:
        return self.linked_to.partition("/")[2]


@dataclass(frozen=True)
class RegisteredApp:
    name: str
    client_id: str
    secret: str | None
    redirect_uri: str


@dataclass
class LiveServer:
    settings: Settings
    engine: Engine
    logins: list[Login] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)  # what first start printed
    apps: dict[str, RegisteredApp] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.settings.base_url

    @property
    def fhir_base(self) -> str:
        return self.settings.fhir_base_url

    def login(self, role: str, index: int = 0) -> Login:
        """The ``index``-th demo login of ``role`` (patient, clinician, admin)."""
        return [login for login in self.logins if login.role == role][index]

    @property
    def public_app(self) -> RegisteredApp:
        return self.apps["public"]

    @property
    def confidential_app(self) -> RegisteredApp:
        return self.apps["confidential"]


def seed(settings: Settings, engine: Engine, redirect_target: RedirectTarget) -> LiveServer:
    """The logins and test apps the flows use, made through the product's own code paths."""
    live = LiveServer(settings=settings, engine=engine)
    made = create_demo_logins(engine, out=live.printed.append)
    live.logins = [Login(m.username, m.password, m.role, m.linked_to) for m in made]
    for key, client_type in (("public", "public"), ("confidential", "confidential-symmetric")):
        live.apps[key] = register(engine, _registration(key, client_type, redirect_target))
    return live


def _registration(key: str, client_type: str, target: RedirectTarget) -> dict[str, Any]:
    return {
        "name": f"E2E {key} app",
        "client_type": client_type,
        "redirect_uris": [target.redirect_uri],
        "launch_url": target.launch_url,
        "logout_url": target.logout_url,
        "scopes": APP_SCOPES,
    }


def register(engine: Engine, raw: dict[str, Any]) -> RegisteredApp:
    """Register an app as ``isocenter apps add`` does: fields checked, then the registry."""
    fields = app_fields(raw)
    app, secret = Apps(engine).register(**fields.registration())
    return RegisteredApp(app.name, app.client_id, secret, app.redirect_uris[0])
