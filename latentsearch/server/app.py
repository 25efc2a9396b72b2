"""The FastAPI application: ``create_app(settings)``, or ``create_app_from_env()`` for workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from latentsearch import __version__
from latentsearch.server import (
    errors,
    metrics,
    routes_answer,
    routes_explore,
    routes_read,
    routes_write,
)
from latentsearch.server.auth import Reader
from latentsearch.server.responses import ErrorOut, Health
from latentsearch.server.state import Settings, State

log = logging.getLogger("latentsearch.server")
STATIC = Path(__file__).parent / "static"
ERRORS = {
    401: {"model": ErrorOut, "description": "no API key, or a bad or revoked one"},
    403: {"model": ErrorOut, "description": "the key's role does not allow this"},
    404: {
        "model": ErrorOut,
        "description": "no such collection or item (or not visible to this key)",
    },
    413: {"model": ErrorOut, "description": "request body too large"},
    422: {"model": ErrorOut, "description": "invalid request; the message names the field"},
}


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = State(settings)
        if settings.warm:
            state.warm_up()
        app.state.ls = state
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="latentsearch",
        version=__version__,
        summary="Search company data by meaning and by keyword, with sources, under per-key permissions.",
        lifespan=lifespan,
        responses=ERRORS,  # type: ignore[arg-type]
    )
    errors.install(app)
    app.include_router(routes_read.router)
    app.include_router(routes_write.router)
    app.include_router(routes_answer.router)
    app.include_router(routes_explore.router)

    @app.get("/health", tags=["service"], response_model=Health)
    def health() -> Health:
        """Liveness: no key needed."""
        return Health(status="ok", version=__version__)

    @app.get("/metrics", tags=["service"], response_class=Response)
    def prometheus(caller: Reader) -> Response:
        """Prometheus metrics (any valid key)."""
        return metrics.render()

    @app.get("/", include_in_schema=False)
    def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(metrics.Instrument)
    return app


def create_app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``latentsearch serve`` passes settings by environment)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(Settings.from_env())
