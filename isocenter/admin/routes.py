"""The routes of ``/admin``: the site admin's pages and the JSON API."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from isocenter.admin import activity, api, app_pages
from isocenter.admin.services import admin

STYLESHEET = Path(__file__).parent / "static" / "admin.css"


def admin_routes() -> list[BaseRoute]:
    """Pages first, then the API; every page checks the admin session itself."""
    return [
        Route("/admin", app_pages.home, methods=["GET"]),
        Route("/admin/apps", app_pages.apps_list, methods=["GET"]),
        Route("/admin/apps/new", app_pages.new_app, methods=["GET", "POST"]),
        Route("/admin/apps/{client_id}", app_pages.edit_app, methods=["GET", "POST"]),
        Route(
            "/admin/apps/{client_id}/{action}", app_pages.app_action, methods=["GET", "POST"]
        ),
        Route("/admin/activity", activity.activity, methods=["GET"]),
        Route("/admin/users/revoke-grants", activity.revoke_user_grants, methods=["POST"]),
        Route("/admin/signout", sign_out, methods=["POST"]),
        Route("/admin/static/admin.css", stylesheet, methods=["GET"]),
        Route("/admin/api/apps", api.apps, methods=["GET", "POST"]),
        Route("/admin/api/apps/{client_id}", api.one_app, methods=["GET", "PUT", "DELETE"]),
        Route("/admin/api/apps/{client_id}/rotate-secret", api.rotate_secret, methods=["POST"]),
        Route("/admin/api/apps/{client_id}/disable", api.disable, methods=["POST"]),
    ]


async def sign_out(request: Request) -> Response:
    """``POST /admin/signout``."""
    return await admin(request).gate.sign_out(request)


async def stylesheet(request: Request) -> FileResponse:
    """``GET /admin/static/admin.css`` (the EHR pages use it too)."""
    return FileResponse(
        STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )
