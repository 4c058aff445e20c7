"""The parts the browser flow and the token endpoint work with, built once per app.

``browser_routes`` handlers reach them through ``browser(request)``: the server's settings
and engine, the auth core's apps, users, keys and revocation list, and the FHIR context's
store and search engine (for the patient picker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from starlette.requests import Request

from isocenter.auth.clients import Apps
from isocenter.auth.codes import AuthorizationCodes
from isocenter.auth.keys import SigningKeys
from isocenter.auth.pages import Pages
from isocenter.auth.refresh import RefreshTokens
from isocenter.auth.revocation import RevocationList
from isocenter.auth.sessions import Sessions
from isocenter.auth.users import Users
from isocenter.config import Settings
from isocenter.search.engine import SearchEngine
from isocenter.store.repository import Store

if TYPE_CHECKING:
    from isocenter.auth.server import AuthServer


@dataclass
class Browser:
    settings: Settings
    engine: Engine
    apps: Apps
    users: Users
    keys: SigningKeys
    revocations: RevocationList
    store: Store
    search: SearchEngine
    resource_types: frozenset[str]
    sessions: Sessions
    pages: Pages
    codes: AuthorizationCodes
    refresh_tokens: RefreshTokens

    @property
    def secure(self) -> bool:
        """Cookies carry Secure when the public base URL is https."""
        return self.settings.base_url.startswith("https://")


def build(
    settings: Settings,
    engine: Engine,
    *,
    apps: Apps,
    users: Users,
    keys: SigningKeys,
    revocations: RevocationList,
    store: Store,
    search: SearchEngine,
    resource_types: frozenset[str],
) -> Browser:
    return Browser(
        settings=settings,
        engine=engine,
        apps=apps,
        users=users,
        keys=keys,
        revocations=revocations,
        store=store,
        search=search,
        resource_types=resource_types,
        sessions=Sessions(engine, lifetime_seconds=settings.session_lifetime_seconds),
        pages=Pages(secure=settings.base_url.startswith("https://")),
        codes=AuthorizationCodes(
            engine, lifetime_seconds=settings.authorization_code_lifetime_seconds
        ),
        refresh_tokens=RefreshTokens(
            engine, offline_lifetime_seconds=settings.refresh_token_lifetime_seconds
        ),
    )


def browser(request: Request) -> Browser:
    """The app's ``Browser``, built on first use from the FHIR context and the auth core."""
    state = request.app.state
    found: Browser | None = getattr(state, "browser", None)
    if found is None:
        found = state.browser = _from_state(state)
    return found


def _from_state(state: Any) -> Browser:
    fhir = state.fhir
    auth: AuthServer = state.auth
    return build(
        auth.settings,
        auth.engine,
        apps=auth.apps,
        users=auth.users,
        keys=auth.keys,
        revocations=auth.revocations,
        store=fhir.store,
        search=fhir.search_engine(),
        resource_types=fhir.resource_types,
    )
