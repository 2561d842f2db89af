"""Domain errors carry their HTTP status; one handler turns each into `{"detail": "..."}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{location}: {error.get('msg')}" if location else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON handlers for domain errors, ml errors, validation errors and anything unexpected."""

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(MltrainError)
    async def ml_error(_: Request, exc: MltrainError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": "internal error; the server log has the details"}, status_code=500)
