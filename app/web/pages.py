"""Page plumbing: the Jinja2 environment, the signed-in session of a page request, CSRF checks, HTML error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from app.config import Settings
from app.errors import DomainError
from app.web import auth, views
from ml.errors import MltrainError

log = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(
    age=views.age,
    duration=views.duration,
    size=views.human_size,
    num=views.number,
    when=views.when,
)
TEMPLATES.env.globals.update(model_loss=views.model_loss)


class SignInRequired(Exception):
    """The page needs a signed-in session and the request has none."""


class CsrfRefused(Exception):
    """A form that changes something came without this session's CSRF token."""


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def current_session(request: Request) -> auth.WebSession:
    """The page's signed-in session (a dependency); SignInRequired without one."""
    session = auth.session_from_request(request, settings_of(request))
    if session is None:
        raise SignInRequired()
    return session


async def checked_session(request: Request) -> auth.WebSession:
    """The signed-in session of a form post whose CSRF field matches (a dependency); else 401 / 403 pages."""
    session = current_session(request)
    form = await request.form()
    if not auth.csrf_ok(session, form.get(auth.CSRF_FIELD)):
        raise CsrfRefused()
    return session


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: auth.WebSession | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template with the session (for the header and the CSRF field) and the request."""
    values = {"session": session, "csrf_field": auth.CSRF_FIELD, **(context or {})}
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, status_code: int, title: str, detail: str) -> HTMLResponse:
    """The HTML page for an error, with the signed-in header when the request has a session."""
    session = auth.session_from_request(request, settings_of(request))
    context = {"status_code": status_code, "title": title, "detail": detail}
    response = render(request, "error.html", context, session=session, status_code=status_code)
    if status_code == 401:
        response.headers["WWW-Authenticate"] = 'Cookie realm="mltrain dashboard"'
    return response


TITLES = {401: "Sign-in needed", 403: "Refused", 404: "Not found", 409: "Conflict", 413: "Too large",
          422: "Check the form", 429: "Too many jobs"}  # fmt: skip


class HtmlRoute(APIRoute):
    """Routes of the dashboard: errors become HTML pages instead of the API's JSON (a sign-in redirect for GET)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so errors raised by a page become pages."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                if request.method == "GET":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
                return error_page(request, 401, TITLES[401], "Your session has ended; sign in again.")
            except CsrfRefused:
                detail = (
                    "This form came without a valid CSRF token, so nothing was changed. Reload the page and try again."
                )
                return error_page(request, 403, "Form refused (CSRF)", detail)
            except DomainError as exc:
                return error_page(request, exc.status_code, TITLES.get(exc.status_code, "Error"), exc.detail)
            except MltrainError as exc:
                return error_page(request, 422, TITLES[422], str(exc))
            except RequestValidationError as exc:
                parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
                return error_page(request, 422, TITLES[422], "; ".join(parts) or "invalid request")
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return error_page(request, 500, "Server error", "Something went wrong; the server log has the details.")

        return page_handler
