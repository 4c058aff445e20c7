"""The server the benchmark runs: ``isocenter serve`` plus one constant-body route.

``/bench/constant`` answers the bytes of the file named by ``ISOCENTER_BENCH_CONSTANT_BODY``
so that a read by id can be compared with the same process, middleware, logging and
uvicorn set-up answering a body of the same size without touching the store. Run as
``python -m bench.app`` with the ISOCENTER_* variables ``isocenter serve`` reads.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import isocenter.app
from isocenter.config import Settings, load_settings

CONSTANT_BODY_ENV = "ISOCENTER_BENCH_CONSTANT_BODY"
CONSTANT_PATH = "/bench/constant"
MEDIA_TYPE = "application/fhir+json; charset=utf-8"

_create_app = isocenter.app.create_app


def with_constant_route(app: Starlette, body: bytes) -> Starlette:
    async def constant(_request: Request) -> Response:
        return Response(body, media_type=MEDIA_TYPE)

    # First, so that no catch-all route of the app shadows it.
    app.router.routes.insert(0, Route(CONSTANT_PATH, constant, methods=["GET"]))
    return app


def main() -> None:
    settings = load_settings()
    body = Path(os.environ[CONSTANT_BODY_ENV]).read_bytes()

    def create_bench_app(settings: Settings | None = None) -> Starlette:
        return with_constant_route(_create_app(settings), body)

    # run() is exactly what `isocenter serve` does (migrate, uvicorn options, logging);
    # only the app it builds gains the constant route.
    isocenter.app.create_app = create_bench_app  # type: ignore[assignment]
    isocenter.app.run(settings)


if __name__ == "__main__":
    main()
