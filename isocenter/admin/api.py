"""``/admin/api``: the app registry as JSON, for automation.

Authentication: HTTP Basic with a site admin's username and password (RFC 7617), or the
admin's browser session; a session-authenticated request that changes something must
also send the CSRF token in ``X-CSRF-Token`` (the double-submit token of the pages), so
another site cannot drive the API through the admin's browser.

Errors are JSON ``{"error": code, "message": text}`` (``"field"`` too for a bad field):
400 malformed body, 401 no or wrong credentials (with a Basic challenge), 403 not an
admin or no CSRF token, 404 unknown client id, 409 an action the app cannot take,
415 a body that is not JSON, 422 a field that breaks a registration rule.

Documents use RFC 7591 §2 names (``client_name``, ``logo_uri``, ``scope``, ``jwks_uri``)
plus ``client_type``, ``launch_url`` and ``logout_url``; a GET's document can be PUT back.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from isocenter.admin.documents import app_document, with_secret
from isocenter.admin.fields import AppFields, InvalidField, app_fields
from isocenter.admin.services import Admin, admin
from isocenter.auth.clients import App, AppRegistrationError
from isocenter.auth.sessions import CSRF_COOKIE
from isocenter.auth.users import SignInRefused, User

REALM = 'Basic realm="Isocenter admin API", charset="UTF-8"'
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Document names -> registration field names.
INPUT_NAMES = {
    "client_name": "name",
    "client_type": "client_type",
    "redirect_uris": "redirect_uris",
    "launch_url": "launch_url",
    "logout_url": "logout_url",
    "logo_uri": "logo_url",
    "scope": "scopes",
    "jwks_uri": "jwks_url",
    "jwks": "jwks",
}
# An endpoint's work once the caller is known: (parts, request, JSON body or None).
Handler = Callable[[Admin, Request, dict[str, Any] | None], Response]
READ_ONLY_NAMES = frozenset({"client_id", "enabled", "created_at", "updated_at"})
OUTPUT_NAMES = {field: name for name, field in INPUT_NAMES.items()}


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, *, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.field = field

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.field:
            body["field"] = self.field
        headers = {"WWW-Authenticate": REALM} if self.status == 401 else {}
        return _json(body, self.status, headers)


async def apps(request: Request) -> Response:
    """``GET /admin/api/apps`` (list), ``POST /admin/api/apps`` (register)."""
    if request.method == "GET":
        return await _serve(request, _list)
    return await _serve(request, _register)


async def one_app(request: Request) -> Response:
    """``GET``, ``PUT``, ``DELETE /admin/api/apps/{client_id}``."""
    handler = {"GET": _show, "PUT": _replace, "DELETE": _delete}[request.method]
    return await _serve(request, handler)


async def rotate_secret(request: Request) -> Response:
    """``POST /admin/api/apps/{client_id}/rotate-secret``."""
    return await _serve(request, _rotate)


async def disable(request: Request) -> Response:
    """``POST /admin/api/apps/{client_id}/disable``."""
    return await _serve(request, _disable)


async def _serve(request: Request, handler: Handler) -> Response:
    parts = admin(request)
    try:
        await run_in_threadpool(_authenticate, parts, request)
        body = await _body(request)
        result: Response = await run_in_threadpool(handler, parts, request, body)
    except ApiError as error:
        return error.response()
    result.headers["Cache-Control"] = "no-store"
    return result


def _authenticate(parts: Admin, request: Request) -> User:
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        user = _basic(parts, header[6:])
    else:
        user = _session_user(parts, request)
    if user.role != "admin":
        raise ApiError(403, "forbidden", "only a site admin may use the admin API")
    return user


def _basic(parts: Admin, credentials: str) -> User:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "unauthorized", "malformed Basic credentials") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise ApiError(401, "unauthorized", "malformed Basic credentials")
    try:
        return parts.users.authenticate(username, password)
    except SignInRefused as refused:
        raise ApiError(401, "unauthorized", str(refused)) from None


def _session_user(parts: Admin, request: Request) -> User:
    user = parts.gate.user(request)
    if user is None:
        raise ApiError(401, "unauthorized", "sign in with HTTP Basic as a site admin")
    if request.method not in SAFE_METHODS:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
            raise ApiError(403, "forbidden", f"send the CSRF token in {CSRF_HEADER}")
    return user


async def _body(request: Request) -> dict[str, Any] | None:
    if request.method not in ("POST", "PUT"):
        return None
    raw = await request.body()
    if not raw:
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def _list(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    return _json({"apps": [app_document(app) for app in parts.apps.list()]})


def _register(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    fields = _fields(body)
    try:
        app, secret = parts.apps.register(**fields.registration())
    except AppRegistrationError as exc:
        raise ApiError(422, "invalid_registration", str(exc)) from None
    location = f"{parts.settings.base_url.rstrip('/')}/admin/api/apps/{app.client_id}"
    return _json(with_secret(app_document(app), secret), 201, {"Location": location})


def _show(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    return _json(app_document(_app(parts, request)))


def _replace(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    app = _app(parts, request)
    given = body or {}
    if given.get("client_type", app.client_type) != app.client_type:
        raise ApiError(409, "conflict", "the client type of an app cannot change")
    changes = _fields({**given, "client_type": app.client_type}).registration()
    del changes["client_type"]
    try:
        changed = parts.apps.update(app.client_id, **changes)
    except AppRegistrationError as exc:
        raise ApiError(422, "invalid_registration", str(exc)) from None
    return _json(app_document(changed))


def _delete(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    app = _app(parts, request)
    parts.revocations.revoke_client(app.client_id)
    parts.apps.delete(app.client_id)
    return Response(status_code=204)


def _rotate(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    app = _app(parts, request)
    if app.client_type != "confidential-symmetric":
        raise ApiError(409, "conflict", f"a {app.client_type} app has no client secret")
    secret = parts.apps.rotate_secret(app.client_id)
    return _json({"client_id": app.client_id, "client_secret": secret})


def _disable(parts: Admin, request: Request, body: dict[str, Any] | None) -> Response:
    app = _app(parts, request)
    parts.revocations.revoke_client(app.client_id)
    parts.apps.disable(app.client_id)
    return _json(app_document(_app(parts, request)))


def _app(parts: Admin, request: Request) -> App:
    client_id = request.path_params["client_id"]
    app = parts.apps.get(client_id)
    if app is None:
        raise ApiError(404, "not_found", f"no app has the client id {client_id!r}")
    return app


def _fields(body: dict[str, Any] | None) -> AppFields:
    if body is None:
        raise ApiError(400, "invalid_json", "send the app as a JSON object")
    unknown = set(body) - INPUT_NAMES.keys() - READ_ONLY_NAMES
    if unknown:
        raise ApiError(422, "invalid_field", f"unknown field {sorted(unknown)[0]!r}")
    raw = {INPUT_NAMES[name]: value for name, value in body.items() if name in INPUT_NAMES}
    try:
        return app_fields(raw)
    except InvalidField as exc:
        field = OUTPUT_NAMES.get(exc.field, exc.field)
        raise ApiError(422, "invalid_field", f"{field}: {exc.message}", field=field) from None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)
