"""Reading an app's request to the introspection and revocation endpoints.

The body is ``application/x-www-form-urlencoded`` (RFC 7662 §2.1, RFC 7009 §2.1), each
parameter at most once (RFC 6749 §3.2); the app authenticates as at the token endpoint.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from isocenter.auth.clients import App
from isocenter.auth.errors import InvalidRequest
from isocenter.auth.server import AuthServer

FORM_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    """The form's parameters; ``InvalidRequest`` for another body type or a repeated one."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidRequest(f"the body must be {FORM_TYPE}")
    form = await request.form()
    pairs = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidRequest(f"parameters given more than once: {', '.join(repeated)}")
    return dict(pairs)


async def authenticated_app(server: AuthServer, request: Request, form: dict[str, str]) -> App:
    """The app behind the request; argon2 checks run in a worker thread."""
    authorization = request.headers.get("authorization")
    return await run_in_threadpool(server.apps.authenticate, form, authorization)
