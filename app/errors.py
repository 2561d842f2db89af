"""Domain errors carry their HTTP status; one handler turns each into `{"detail": "..."}`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Router
from starlette.types import Scope

from ml.errors import MltrainError

log = logging.getLogger(__name__)


class DomainError(Exception):
    """An error a client caused or can act on."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The object does not exist or belongs to another owner (the two are indistinguishable on purpose)."""

    status_code = 404


class Unauthorized(DomainError):
    """Missing, unknown or revoked token."""

    status_code = 401


class Forbidden(DomainError):
    """The request is understood but not allowed (e.g. a folder outside the allowed roots)."""

    status_code = 403


class Conflict(DomainError):
    """The request conflicts with the object's current state."""

    status_code = 409


class Unprocessable(DomainError):
    """The request is well-formed but its content is invalid."""

    status_code = 422


class TooManyRequests(DomainError):
    """The owner has too many unfinished jobs (MLTRAIN_MAX_ACTIVE_JOBS_PER_OWNER)."""

    status_code = 429


class PayloadTooLarge(DomainError):
    """An upload exceeds MLTRAIN_MAX_UPLOAD_BYTES."""

    status_code = 413


def printable(text: str) -> str:
    """`text` with lone surrogates escaped: a message may quote bad input, and JSON bodies must be valid UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(detail: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape, `{"detail": "..."}`, safe for any text."""
    return JSONResponse({"detail": printable(detail)}, status_code=status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        message = str(error.get("msg")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            parts.append(f"body: not valid JSON ({error.get('ctx', {}).get('error', message)} at character {loc[-1]})")
            continue
        location = ".".join(str(p) for p in loc if p != "body")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


def matching_routes(router: Router, scope: Scope) -> Iterator[tuple[Any, Scope]]:
    """(route, child scope) for every leaf route whose path matches (FastAPI nests included routers)."""
    for route in router.routes:
        nested = getattr(route, "effective_route_contexts", None)
        for leaf in nested() if nested is not None else (route,):
            match, child = leaf.matches(scope)
            if match is not Match.NONE:
                yield getattr(leaf, "original_route", leaf), child


def allowed_methods(router: Router, scope: Scope) -> str:
    """Every method some route serves at this path (Starlette's 405 lists only the first matching route's)."""
    probe = {**scope, "method": "\x00"}  # a method no route has: a path match is then PARTIAL, never FULL
    methods: set[str] = set()
    for route, _ in matching_routes(router, probe):
        methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON handlers for domain errors, ml errors, validation errors and anything unexpected."""

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return error_response(exc.detail, exc.status_code, headers)

    @app.exception_handler(MltrainError)
    async def ml_error(_: Request, exc: MltrainError) -> JSONResponse:
        return error_response(str(exc), 422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(_validation_message(exc), 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(app.router, request.scope) or headers.get("Allow", "GET")
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body it cannot decode (not UTF-8, a broken form): a 422 like any bad input.
            return error_response("body: could not be parsed; send UTF-8 JSON (or the documented form)", 422)
        return error_response(str(exc.detail), exc.status_code, headers or None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response("internal error; the server log has the details", 500)

    from app.guard import install_input_guard  # here because create_app (app/main.py) calls this function

    install_input_guard(app)
