"""The FastAPI application: routers under /api/v1, health at the root, one JSON error format."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app.api.routes import artifacts, datasets, health, jobs
from app.config import Settings, get_settings
from app.errors import install_error_handlers

API_PREFIX = "/api/v1"


def _default_enqueue(settings: Settings) -> Callable[[str, str], None]:
    def enqueue(job_id: str, queue: str) -> None:
        from worker.celery_app import send_job

        send_job(job_id, queue, broker_url=settings.broker_url)

    return enqueue


def create_app(settings: Settings | None = None, enqueue: Callable[[str, str], None] | None = None) -> FastAPI:
    """Build the app; tests pass their own settings and enqueue function."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.object_dir.mkdir(parents=True, exist_ok=True)
        yield

    app = FastAPI(
        title="mltrain",
        version="0.1.0",
        description="Train, evaluate and export the plugin's five networks as RTNeural JSON.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.enqueue = enqueue or _default_enqueue(settings)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (datasets, jobs, artifacts):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    return app
