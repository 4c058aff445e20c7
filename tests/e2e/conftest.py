"""End-to-end fixtures: Isocenter on a real socket with the demo cohort, and a real browser.

``live`` is one Isocenter server for the whole session: uvicorn on a free loopback port, a
temporary SQLite database, the demo cohort loaded by the loader ``isocenter serve`` uses,
demo logins made by the code ``isocenter serve`` runs on first start, and test apps
registered through the registry the CLI and the admin pages write to. ``live_postgres``
is the same over a throwaway PostgreSQL database, for the flows worth proving on both.

``redirect_target`` plays the registered app: its redirect URI, launch URL and sign-off
URL are pages on another port that record what the browser brings to them.

``page`` is a fresh browser context (no cookies) in Debian's Chromium, driven through
Playwright's sync API; the browser tests are skipped, with the reason shown, only where
/usr/bin/chromium is absent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from isocenter.app import create_app, load_demo
from isocenter.config import Settings
from isocenter.store.engine import make_engine, migrate
from tests.conftest import POSTGRES_URL
from tests.e2e.live import LiveServer, seed
from tests.e2e.servers import RedirectTarget, Served, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Long enough for a 2-core CI box under load, short enough to fail fast on a wrong selector.
PAGE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def redirect_target() -> Iterator[RedirectTarget]:
    target = RedirectTarget()
    served = Served(target.app(), free_port()).start()
    target.url = served.url
    yield target
    served.stop()


def _start(database_url: str, redirect_target: RedirectTarget) -> tuple[LiveServer, Served]:
    port = free_port()
    settings = Settings(
        database_url=database_url, base_url=f"http://127.0.0.1:{port}", port=port
    )
    engine = make_engine(database_url)
    migrate(engine)
    load_demo(settings, engine)
    live = seed(settings, engine, redirect_target)
    served = Served(create_app(settings, engine=engine), port).start()
    return live, served


@pytest.fixture(scope="session")
def live(
    tmp_path_factory: pytest.TempPathFactory, redirect_target: RedirectTarget
) -> Iterator[LiveServer]:
    """Isocenter over SQLite with the demo cohort, logins and registered test apps."""
    database = tmp_path_factory.mktemp("e2e") / "isocenter.db"
    live, served = _start(f"sqlite:///{database}", redirect_target)
    yield live
    served.stop()
    live.engine.dispose()


@pytest.fixture(scope="session")
def live_postgres(redirect_target: RedirectTarget) -> Iterator[LiveServer]:
    """The same server over a PostgreSQL database of its own (dropped afterwards)."""
    name = f"isocenter_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    live, served = _start(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name, redirect_target)
    yield live
    served.stop()
    live.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_live(request: pytest.FixtureRequest) -> LiveServer:
    """``live`` and then ``live_postgres``: for the flows proved on both databases."""
    fixture = "live" if request.param == "sqlite" else "live_postgres"
    server: LiveServer = request.getfixturevalue(fixture)
    return server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context: no cookies, so every test signs in itself."""
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
