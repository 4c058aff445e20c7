"""The routes of the browser flow and the token endpoint, included by ``auth.routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from isocenter.auth.authorize import AUTHORIZE_PATH, authorize
from isocenter.auth.logout import LOGOUT_PATH, logout
from isocenter.auth.manage import MANAGE_PATH, manage
from isocenter.auth.pages import STYLESHEET_PATH, stylesheet
from isocenter.auth.signin import SIGNIN_PATH, signin
from isocenter.auth.style import STYLE_PATH, default_style
from isocenter.auth.token import TOKEN_PATH, token


def browser_routes() -> list[BaseRoute]:
    """``/auth/authorize``, ``/auth/token``, sign-in, logout, manage, style, stylesheet."""
    return [
        Route(AUTHORIZE_PATH, authorize, methods=["GET", "POST"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(SIGNIN_PATH, signin, methods=["GET", "POST"]),
        Route(LOGOUT_PATH, logout, methods=["GET", "POST"]),
        Route(MANAGE_PATH, manage, methods=["GET", "POST"]),
        Route(STYLE_PATH, default_style, methods=["GET"]),
        Route(STYLESHEET_PATH, stylesheet, methods=["GET"]),
    ]
