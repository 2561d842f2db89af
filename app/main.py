"""The FastAPI application: routers under /api/v1, health at the root, one JSON error format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from app.api import API_PREFIX
from app.api.deps import Enqueue
from app.api.links import add_links
from app.api.routes import artifacts, bundle, datasets, health, jobs, sweeps
from app.config import Settings, get_settings
from app.db import get_engine
from app.errors import install_error_handlers
from app.schemas import ERROR_RESPONSES
from app.web.mount import mount_web


def broker_enqueue(settings: Settings) -> Enqueue:
    """The production enqueue: worker.celery_app.send_job on the configured broker (imported on first use)."""

    def enqueue(job_id: str, queue: str) -> None:
        from worker.celery_app import send_job  # Celery only; never torch

        send_job(job_id, queue, broker_url=settings.broker_url)

    return enqueue


def api_router() -> APIRouter:
    """Every resource router, combined under /api/v1."""
    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (datasets, jobs, artifacts, bundle, sweeps):
        api.include_router(module.router)
    return api


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: the environment); tests override `get_enqueuer`."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for folder in (settings.object_dir, settings.upload_dir):
            folder.mkdir(parents=True, exist_ok=True)
        yield
        get_engine(settings.database_url).dispose()

    app = FastAPI(
        title="mltrain",
        version="0.1.0",
        description="Train, evaluate and export the plugin's five networks as RTNeural JSON.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from app.web with vendored assets (they work offline)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.enqueue = broker_enqueue(settings)
    install_error_handlers(app)
    app.include_router(api_router())
    app.include_router(health.router)
    mount_web(app)

    def openapi() -> dict[str, Any]:
        """FastAPI's schema (built once, cached on the app) with the links of app/api/links.py."""
        if app.openapi_schema is None:
            app.openapi_schema = add_links(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
