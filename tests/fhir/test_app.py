"""``isocenter serve``: migrate, demo cohort into an empty store, uvicorn options."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from isocenter import app as app_module
from isocenter.app import run
from isocenter.store.repository import Store
from tests.fhir.conftest import settings


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What ``run`` hands uvicorn; the apps it built are closed afterwards."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    yield calls
    for args, _ in calls:
        if isinstance(args[0], Starlette):
            args[0].state.fhir.store.engine.dispose()


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_run_loads_the_demo_cohort_into_an_empty_store_once(
    engine: Engine, uvicorn_calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    configured = settings().with_overrides(database_url=url_of(engine), demo=True)
    run(configured)
    printed = capsys.readouterr().out
    assert "Loaded the demo cohort" in printed and "Patient" in printed
    store = Store(engine)
    assert store.count_history("Patient") >= 12
    count = store.count_history()

    run(configured)
    assert "Loaded the demo cohort" not in capsys.readouterr().out
    assert store.count_history() == count
    assert len(uvicorn_calls) == 2


def test_run_without_demo_serves_the_app_without_uvicorn_access_log(
    engine: Engine, uvicorn_calls: list[Any]
) -> None:
    run(settings().with_overrides(database_url=url_of(engine), demo=False, port=8123))
    ((args, kwargs),) = uvicorn_calls
    assert kwargs["access_log"] is False
    assert kwargs["port"] == 8123
    assert "isocenter" in kwargs["log_config"]["loggers"]
    assert Store(engine).count_history() == 0


def test_several_workers_get_a_factory_and_the_settings_by_environment(
    engine: Engine, uvicorn_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ISOCENTER_DATABASE_URL", "ISOCENTER_BASE_URL", "ISOCENTER_DEMO"):
        monkeypatch.delenv(name, raising=False)
    configured = settings().with_overrides(database_url=url_of(engine), demo=False, workers=2)
    run(configured)
    ((args, kwargs),) = uvicorn_calls
    assert args == ("isocenter.app:app_from_environment",)
    assert kwargs["factory"] is True and kwargs["workers"] == 2
    worker_app = app_module.app_from_environment()
    worker_app.state.fhir.store.engine.dispose()
    assert worker_app.state.fhir.settings.base_url == configured.base_url
    assert worker_app.state.fhir.settings.resolved_database_url() == url_of(engine)
