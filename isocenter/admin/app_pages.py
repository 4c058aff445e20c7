"""``/admin/apps``: the site admin's pages to register, edit, disable, delete apps and
rotate their secrets.

Forms post back to the page they came from; after a change the browser is redirected
(303) to a page that says what was done, except where a new client secret is shown: that
page is the answer to the POST itself, sent with ``no-store``, so the secret is never in a
URL, a log line or the history and cannot be shown again.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from isocenter.admin.fields import CLIENT_TYPES, InvalidField, app_fields
from isocenter.admin.services import Admin, admin
from isocenter.auth.clients import App, AppRegistrationError

_CLIENT_TYPE_WORDS = {
    "public": "Public: a browser or native app, PKCE and no secret",
    "confidential-symmetric": "Confidential, symmetric: a server with a client secret",
    "confidential-asymmetric": "Confidential, asymmetric: private_key_jwt with a JWK Set",
}
CLIENT_TYPE_LABELS = tuple((name, _CLIENT_TYPE_WORDS[name]) for name in CLIENT_TYPES)
FIELD_LABELS = {
    "name": "App name",
    "logo_url": "Logo URL",
    "launch_url": "App launch URL",
    "redirect_uris": "Redirect URIs",
    "logout_url": "Sign-off URL",
    "scopes": "Scopes",
    "client_type": "Client type",
    "jwks_url": "JWK Set URL",
    "jwks": "JWK Set",
    "registration": "Registration",
}
FORM_FIELDS = ("name", "logo_url", "launch_url", "logout_url", "scopes", "client_type")
NOTICES = {
    "created": "The app is registered.",
    "saved": "The changes are saved.",
    "disabled": "The app is disabled and every grant to it is revoked.",
    "enabled": "The app is enabled again.",
    "deleted": "The app is deleted and every grant to it is revoked.",
    "revoked": "Every grant to this app is revoked.",
}
ACTIONS = frozenset({"disable", "enable", "rotate-secret", "revoke-grants", "delete"})


async def home(request: Request) -> Response:
    """``GET /admin``."""
    return admin(request).renderer.redirect("/admin/apps")


async def apps_list(request: Request) -> Response:
    """``GET /admin/apps``."""
    return await admin(request).gate.serve(request, _list)


async def new_app(request: Request) -> Response:
    """``GET /admin/apps/new``, ``POST /admin/apps/new``."""
    return await admin(request).gate.serve(request, _new)


async def edit_app(request: Request) -> Response:
    """``GET /admin/apps/{client_id}``, ``POST /admin/apps/{client_id}``."""
    return await admin(request).gate.serve(request, _edit)


async def app_action(request: Request) -> Response:
    """``POST /admin/apps/{client_id}/{action}``: disable, enable, rotate-secret,
    revoke-grants, delete (``GET .../delete`` asks first)."""
    return await admin(request).gate.serve(request, _action)


def _list(request: Request, form: FormData | None) -> Response:
    parts = admin(request)
    apps = sorted(parts.apps.list(), key=lambda app: app.created_at, reverse=True)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return parts.renderer.render(
        request, "admin/apps.html", title="Apps", section="apps", apps=apps, notice=notice
    )


def _new(request: Request, form: FormData | None) -> Response:
    parts = admin(request)
    if form is None:
        return _form(request, parts, _blank(), {}, app=None)
    values = _values(form)
    try:
        fields = app_fields(_raw(values))
        app, secret = parts.apps.register(**fields.registration())
    except InvalidField as exc:
        return _form(request, parts, values, {exc.field: exc.message}, app=None, status=400)
    except AppRegistrationError as exc:
        return _form(request, parts, values, {"registration": str(exc)}, app=None, status=400)
    return _secret_page(request, parts, app, secret, "App registered")


def _edit(request: Request, form: FormData | None) -> Response:
    parts = admin(request)
    app = _app(request, parts)
    if app is None:
        return _not_found(request, parts)
    if form is None:
        notice = NOTICES.get(request.query_params.get("done", ""))
        return _form(request, parts, _current(app), {}, app=app, notice=notice)
    values = {**_values(form), "client_type": app.client_type}
    try:
        changes = app_fields(_raw(values)).registration()
        del changes["client_type"]
        parts.apps.update(app.client_id, **changes)
    except InvalidField as exc:
        return _form(request, parts, values, {exc.field: exc.message}, app=app, status=400)
    except AppRegistrationError as exc:
        return _form(request, parts, values, {"registration": str(exc)}, app=app, status=400)
    return parts.renderer.redirect(f"/admin/apps/{app.client_id}?done=saved")


def _action(request: Request, form: FormData | None) -> Response:
    parts = admin(request)
    app = _app(request, parts)
    if app is None:
        return _not_found(request, parts)
    action = request.path_params["action"]
    if action not in ACTIONS or (form is None and action != "delete"):
        return _not_found(request, parts)
    if form is None:
        title = f"Delete {app.name}?"
        return parts.renderer.render(request, "admin/app_delete.html", title=title, app=app)
    if action == "rotate-secret":
        if app.client_type != "confidential-symmetric":
            return _not_found(request, parts)
        secret = parts.apps.rotate_secret(app.client_id)
        return _secret_page(request, parts, app, secret, "New client secret")
    return parts.renderer.redirect(_act(parts, app, action))


def _act(parts: Admin, app: App, action: str) -> str:
    """Do ``action`` to ``app``; where to send the browser after."""
    if action == "enable":
        parts.apps.enable(app.client_id)
        return f"/admin/apps/{app.client_id}?done=enabled"
    if action in ("disable", "delete", "revoke-grants"):
        # A disabled or deleted app keeps no access: its grants go with it.
        parts.revocations.revoke_client(app.client_id)
    if action == "disable":
        parts.apps.disable(app.client_id)
        return f"/admin/apps/{app.client_id}?done=disabled"
    if action == "delete":
        parts.apps.delete(app.client_id)
        return "/admin/apps?done=deleted"
    return f"/admin/apps/{app.client_id}?done=revoked"


def _form(
    request: Request,
    parts: Admin,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    app: App | None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    if app is None:
        title, action, section, submit = "Register an app", "/admin/apps/new", "new", "Register"
    else:
        title, action = f"Edit {app.name}", f"/admin/apps/{app.client_id}"
        section, submit = "apps", "Save changes"
    return parts.renderer.render(
        request,
        "admin/app_form.html",
        status=status,
        title=title,
        section=section,
        action=action,
        submit=submit,
        creating=app is None,
        form=values,
        errors=errors,
        labels=FIELD_LABELS,
        client_types=CLIENT_TYPE_LABELS,
        app=app,
        notice=notice,
    )


def _secret_page(
    request: Request, parts: Admin, app: App, secret: str | None, title: str
) -> Response:
    return parts.renderer.render(
        request, "admin/secret.html", title=title, section="apps", app=app, secret=secret
    )


def _not_found(request: Request, parts: Admin) -> Response:
    message = "There is no such app, or it cannot do that."
    return parts.renderer.render(
        request, "error.html", status=404, title="Not found", message=message
    )


def _app(request: Request, parts: Admin) -> App | None:
    return parts.apps.get(request.path_params["client_id"])


def _values(form: FormData) -> dict[str, str]:
    names = (*FORM_FIELDS, "redirect_uris", "jwks_url", "jwks")
    return {name: str(form.get(name) or "") for name in names}


def _raw(values: dict[str, str]) -> dict[str, Any]:
    """Form values as ``app_fields`` takes them: one redirect URI per line."""
    return {**values, "redirect_uris": values["redirect_uris"].split()}


def _blank() -> dict[str, str]:
    names = (*FORM_FIELDS, "redirect_uris", "jwks_url", "jwks")
    return {**dict.fromkeys(names, ""), "client_type": "public"}


def _current(app: App) -> dict[str, str]:
    return {
        "name": app.name,
        "logo_url": app.logo_url or "",
        "launch_url": app.launch_url or "",
        "logout_url": app.logout_url or "",
        "scopes": app.scopes,
        "client_type": app.client_type,
        "redirect_uris": "\n".join(app.redirect_uris),
        "jwks_url": app.jwks_url or "",
        "jwks": orjson.dumps(app.jwks).decode() if app.jwks else "",
    }
