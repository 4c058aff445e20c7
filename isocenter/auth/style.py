"""The SMART style document that ``smart_style_url`` points to, and the pages' palette.

SMART App Launch 2.x, "Styling" (scopes-and-launch-context.html#styling): an app may fetch
this JSON to look at home in the EHR. The sign-in, picker and consent pages use the same
colours (static/pages.css), so what the app shows matches what the user just saw.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

STYLE_PATH = "/auth/style/default.json"

DEFAULT_STYLE: dict[str, str] = {
    "color_background": "#f7f8fa",
    "color_error": "#b00020",
    "color_highlight": "#005ea2",
    "color_modal_backdrop": "rgba(27, 27, 27, 0.6)",
    "color_success": "#00703c",
    "color_text": "#1b1b1b",
    "dim_border_radius": "4px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "font_family_heading": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
}


def style_url(base_url: str) -> str:
    """The absolute ``smart_style_url`` handed out in token responses."""
    return base_url.rstrip("/") + STYLE_PATH


async def default_style(request: Request) -> JSONResponse:
    """``GET /auth/style/default.json``: public, cacheable for an hour."""
    return JSONResponse(DEFAULT_STYLE, headers={"Cache-Control": "public, max-age=3600"})
