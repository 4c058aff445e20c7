"""What a person does on Isocenter's pages, as Playwright steps found by label and role.

Locators name what a user sees (the "Username" field, the "Allow" button), so a test
that passes here also says the pages are labelled for a screen reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tests.e2e.live import Login
from tests.e2e.servers import Callback, RedirectTarget


def sign_in(page: Any, login: Login) -> None:
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()


def type_checkbox(page: Any, resource_type: str) -> Any:
    """The consent page's checkbox for one resource type."""
    return page.locator(f'input[type="checkbox"][name="type"][value="{resource_type}"]')


def allow(page: Any, *, untick: Iterable[str] = ()) -> None:
    """On the consent page: untick some resource types, then Allow."""
    for resource_type in untick:
        type_checkbox(page, resource_type).uncheck()
    page.get_by_role("button", name="Allow").click()


def pick_patient(page: Any, *, name: str, shown: str) -> None:
    """On the patient picker: search by name, choose the row showing ``shown``."""
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("radio", name=re.compile(re.escape(shown))).check()
    page.get_by_role("button", name="Continue with this patient").click()


def wait_for_callback(page: Any, target: RedirectTarget) -> Callback:
    """Wait until the browser is on the app's redirect URI; what that page recorded."""
    page.wait_for_url(target.redirect_uri + "?**")
    return target.last_callback()


MAX_TABS = 40


def tab_to(page: Any, selector: str) -> None:
    """Press Tab until keyboard focus is on the element matching ``selector`` (no key
    at all when it has focus already, as a field with ``autofocus`` does)."""
    for _ in range(MAX_TABS):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector} in {MAX_TABS} presses")


def focus_is_visible(page: Any) -> bool:
    """The focused element draws an outline (WCAG 2.4.7 Focus Visible)."""
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    return bool(style[0] != "none" and style[1] != "0px")
