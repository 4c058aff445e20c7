"""The ASGI application: the store, the search engine and the FHIR routes, wired once.

``create_app`` builds the Starlette app; ``run`` migrates the database, loads the demo
cohort into an empty store and serves with uvicorn (several workers through an import
string and a factory that reads the settings from ISOCENTER_* variables).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from isocenter.admin.demo_logins import create_demo_logins
from isocenter.admin.routes import admin_routes
from isocenter.auth import audit
from isocenter.auth.guard import GuardMiddleware, UnguardedMiddleware
from isocenter.auth.routes import auth_routes
from isocenter.auth.server import AuthServer, build_auth_server
from isocenter.bulk.routes import bulk_routes
from isocenter.bulk.service import build_bulk_service
from isocenter.config import Settings, load_settings
from isocenter.ehr.routes import ehr_routes
from isocenter.fhir.audit import AuditMiddleware
from isocenter.fhir.context import FhirContext
from isocenter.fhir.errors import EXCEPTION_HANDLERS
from isocenter.fhir.middleware import AccessLogMiddleware
from isocenter.fhir.routes import fhir_routes
from isocenter.ingest.bundle import process_bundle
from isocenter.search.definitions import load_registry
from isocenter.search.engine import SearchEngine
from isocenter.search.indexer import make_indexer
from isocenter.store.engine import make_engine, migrate
from isocenter.store.repository import Store

EXPOSED_HEADERS = ["Location", "ETag", "Content-Location", "Last-Modified"]


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, guard: bool = True
) -> Starlette:
    """The Isocenter ASGI app; ``engine`` (migrated) and ``guard=False`` are for tests."""
    settings = settings or load_settings()
    if engine is None:
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
    auth = build_auth_server(settings, engine)
    trail = audit.AuditTrail(auth.engine)
    app = Starlette(
        # Bulk first: its $export paths would otherwise match the FHIR instance routes.
        routes=[*auth_routes(), *bulk_routes(), *fhir_routes(), *admin_routes(), *ehr_routes()],
        middleware=_middleware(settings, trail, guard=guard, auth=auth),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=_lifespan,
    )
    app.state.audit = trail
    app.state.fhir = fhir_context(settings, engine)
    app.state.bulk = build_bulk_service(settings, app.state.fhir.store, app.state.fhir.registry)
    app.state.fhir.bulk_export = True
    app.state.auth = auth
    return app


def fhir_context(settings: Settings, engine: Engine) -> FhirContext:
    """The parts every FHIR interaction uses, over one engine."""
    registry = load_registry()
    store = Store(engine, make_indexer(registry, settings.fhir_base_url))
    search = SearchEngine(
        store,
        registry,
        fhir_base_url=settings.fhir_base_url,
        default_count=settings.default_page_size,
        max_count=settings.max_page_size,
    )
    return FhirContext(
        settings=settings,
        store=store,
        resource_types=registry.resource_types(),
        registry=registry,
        search=search,
        process_bundle=process_bundle,
    )


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    app.state.audit.close()


def _middleware(
    settings: Settings, trail: audit.AuditTrail, *, guard: bool, auth: AuthServer
) -> list[Middleware]:
    # The guard sits inside CORS, so its 401 answers carry the CORS headers too.
    return [
        Middleware(AccessLogMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allowed_origins),
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        ),
        # Outside the guard: it reads the access the guard set once the request is done.
        Middleware(AuditMiddleware, record=trail.record),
        _guard(settings, auth) if guard else Middleware(UnguardedMiddleware),
    ]


def _guard(settings: Settings, auth: AuthServer) -> Middleware:
    return Middleware(
        GuardMiddleware,
        keys=auth.keys,
        revocations=auth.revocations,
        realm=settings.fhir_base_url,
    )


def app_from_environment() -> Starlette:
    """The factory uvicorn's workers call: settings come from ISOCENTER_* variables."""
    return create_app(load_settings())


def run(settings: Settings) -> None:
    """``isocenter serve``: migrate, load the demo cohort into an empty store, serve."""
    import uvicorn

    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    if settings.demo:
        load_demo(settings, engine)
        create_demo_logins(engine)
    engine.dispose()
    log_config = _log_config()
    if settings.workers > 1:
        _export(settings)
        uvicorn.run(
            "isocenter.app:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            access_log=False,
            log_config=log_config,
            **serving_options(settings),
        )
        return
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=log_config,
        **serving_options(settings),
    )


def serving_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS and proxy options.

    TLS: uvicorn's server context is Python's, which refuses anything older than TLS 1.2
    (the default since Python 3.10; tests/auth/test_serving.py checks it). Forwarded headers
    are read only from the configured proxy addresses; with none, they are ignored.
    """
    options: dict[str, Any] = {
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
    }
    if settings.tls_cert is not None:
        options.update(
            ssl_certfile=str(settings.tls_cert),
            ssl_keyfile=str(settings.tls_key),
        )
    return options


def load_demo(settings: Settings, engine: Engine) -> dict[str, int]:
    """Load the demo cohort when the store is empty; print what was loaded."""
    context = fhir_context(settings, engine)
    if context.store.history(limit=1):
        return {}
    from isocenter.ingest.demo import demo_bundles

    counts: Counter[str] = Counter()
    for bundle in demo_bundles():
        process_bundle(
            context.store, context.search_engine(), bundle, fhir_base_url=settings.fhir_base_url
        )
        for entry in bundle.get("entry", []):
            counts[entry["resource"]["resourceType"]] += 1
    total = sum(counts.values())
    print(f"Loaded the demo cohort: {total} resources")
    for resource_type, count in sorted(counts.items()):
        print(f"  {resource_type:<24} {count:>6}")
    return dict(counts)


def _export(settings: Settings) -> None:
    """Hand the settings to worker processes through the environment."""
    os.environ.update(
        {
            "ISOCENTER_DATABASE_URL": settings.resolved_database_url(),
            "ISOCENTER_BASE_URL": settings.base_url,
            "ISOCENTER_CORS_ALLOWED_ORIGINS": ",".join(settings.cors_allowed_origins),
            "ISOCENTER_DEFAULT_PAGE_SIZE": str(settings.default_page_size),
            "ISOCENTER_MAX_PAGE_SIZE": str(settings.max_page_size),
            "ISOCENTER_DEMO": "false",
            "ISOCENTER_ACCESS_TOKEN_LIFETIME_SECONDS": str(
                settings.access_token_lifetime_seconds
            ),
            "ISOCENTER_REFRESH_TOKEN_LIFETIME_SECONDS": str(
                settings.refresh_token_lifetime_seconds
            ),
            "ISOCENTER_AUTHORIZATION_CODE_LIFETIME_SECONDS": str(
                settings.authorization_code_lifetime_seconds
            ),
            "ISOCENTER_LAUNCH_LIFETIME_SECONDS": str(settings.launch_lifetime_seconds),
            "ISOCENTER_SESSION_LIFETIME_SECONDS": str(settings.session_lifetime_seconds),
            "ISOCENTER_DEVELOPMENT": str(settings.development).lower(),
            "ISOCENTER_TRUSTED_PROXIES": ",".join(settings.trusted_proxies),
        }
    )


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the ``isocenter`` loggers at INFO on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["isocenter"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


logging.getLogger("isocenter").addHandler(logging.NullHandler())
