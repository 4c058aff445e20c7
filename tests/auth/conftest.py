"""Auth fixtures over the ``engine`` fixture: signing keys, revocation list, settings."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from isocenter.auth.keys import SigningKeys
from isocenter.auth.revocation import RevocationList
from isocenter.config import Settings

BASE_URL = "https://fhir.example.org"
FHIR_BASE = BASE_URL + "/fhir"


@pytest.fixture
def auth_settings() -> Settings:
    return Settings(database_url="sqlite://", base_url=BASE_URL)


@pytest.fixture
def keys(engine: Engine, auth_settings: Settings) -> SigningKeys:
    return SigningKeys(engine, auth_settings)


@pytest.fixture
def revocations(engine: Engine) -> RevocationList:
    return RevocationList(engine)
