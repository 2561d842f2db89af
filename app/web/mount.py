"""Attach the dashboard to the app: its pages, the vendored static files and the offline API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web import docs
from app.web.routes import compare, datasets, jobs, session, submit, sweeps

STATIC_DIR = Path(__file__).parent / "static"
# Pages load only what the app serves itself: no CDN, no outside host, no inline script.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
UNTOUCHED = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")


class PageHeaders:
    """ASGI middleware: a strict Content-Security-Policy and nosniff on dashboard pages (the API is left alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response start of every non-API HTTP request."""
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(UNTOUCHED):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", PAGE_CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_web(app: FastAPI) -> None:
    """Add the dashboard pages, /static and /docs + /redoc from vendored files (create the app with docs_url=None)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(docs.router)
    for module in (session, jobs, submit, compare, datasets, sweeps):
        app.include_router(module.router)
    app.add_middleware(PageHeaders)
