"""Every route of the authorization server, in one list for the app to mount.

Discovery, introspection and revocation are the auth core's; the browser flow and the
token endpoint come from ``browser_routes``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from isocenter.auth.browser_routes import browser_routes
from isocenter.auth.discovery import INTROSPECT_PATH, REVOKE_PATH, discovery_routes
from isocenter.auth.introspect import introspect_endpoint
from isocenter.auth.revoke import revoke_endpoint


def auth_routes() -> list[BaseRoute]:
    return [
        *discovery_routes(),
        Route(INTROSPECT_PATH, introspect_endpoint, methods=["POST"]),
        Route(REVOKE_PATH, revoke_endpoint, methods=["POST"]),
        *browser_routes(),
    ]
