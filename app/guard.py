"""Refuse text no database can store, at the edge: NUL bytes and unpaired surrogates in the path, the query, JSON
strings and keys, and urlencoded form fields become a 422 naming the field, before any route or session runs.

PostgreSQL rejects NUL in text columns and neither database encodes a lone surrogate, so such input used to reach
the database and come back as a 500. Multipart fields are checked by app/api/uploads.py, which parses them itself.

On the JSON API (API_PREFIX) a query parameter the operation does not declare, or a single-valued one given twice,
is a 422 too: FastAPI would silently ignore the one and keep the last of the other, so a typo (`?limt=5`) or an
ambiguous request would pass unnoticed. The dashboard pages are outside the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import API_PREFIX
from app.errors import error_response, matching_routes, printable

JSON_BODY_LIMIT = 1 << 20  # bytes: every JSON body of the API is a few KiB; archives go as octet-stream or multipart
_BAD = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, else None."""
    found = _BAD.search(value)
    if found is None:
        return None
    return "contains a NUL byte" if found.group() == "\x00" else "contains an unpaired surrogate (invalid Unicode)"


def _walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field path, problem) for every bad string or key inside a parsed JSON value."""
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            yield where, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if (problem := text_problem(key)) is not None:
                yield path, f"key {problem}"
            yield from _walk(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}.{index}" if where else str(index))


def _path_problem(router: Router, scope: Scope) -> str | None:
    path: str = scope.get("path", "")
    problem = text_problem(path)
    if problem is None:
        return None
    for _, child in matching_routes(router, scope):  # name the path parameter when a route matches
        for name, value in child.get("path_params", {}).items():
            if isinstance(value, str) and (bad := text_problem(value)) is not None:
                return f"{name}: {bad}"
    return f"path: {problem}"


def _pairs_problem(pairs: list[tuple[str, str]], prefix: str = "") -> str | None:
    for name, value in pairs:
        for text, what in ((name, "name"), (value, "value")):
            if (problem := text_problem(text)) is not None:
                shown = name if what == "value" else "parameter name"
                return f"{prefix}{shown}: {problem}"
    return None


def _query_problem(scope: Scope) -> str | None:
    raw: bytes = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:  # fast path: percent-decoding yields no surrogates (replace)
        return None
    return _pairs_problem(parse_qsl(raw.decode("latin-1"), keep_blank_values=True), "query ")


def _repeatable(annotation: Any) -> bool:
    """Whether a query parameter of this type takes several values (`?tag=a&tag=b`)."""
    if get_origin(annotation) in (Union, UnionType):
        return any(_repeatable(arg) for arg in get_args(annotation))
    return (get_origin(annotation) or annotation) in (list, set, frozenset, tuple)


def declared_query(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter an operation reads (its dependencies' too), by alias: whether it may repeat."""
    declared: dict[str, bool] = {}
    for param in dependant.query_params:
        declared[param.alias] = _repeatable(param.field_info.annotation)
    for child in dependant.dependencies:
        declared.update(declared_query(child))
    return declared


def unknown_query_problem(declared: dict[str, bool], raw: bytes) -> str | None:
    """Why the query string `raw` does not fit the `declared` parameters (unknown or repeated), else None."""
    seen: set[str] = set()
    for name, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in declared:
            takes = ", ".join(sorted(declared)) or "none"
            return f"query {name or '(empty name)'}: not a parameter of this operation (its parameters: {takes})"
        if name in seen and not declared[name]:
            return f"query {name}: given more than once; it takes one value"
        seen.add(name)
    return None


def _body_problem(body: bytes, kind: str) -> str | None:
    if kind == "json":
        try:
            parsed = json.loads(body)
        except ValueError:  # not JSON (or not UTF-8): FastAPI answers it with its own 422
            return None
        for where, problem in _walk(parsed, ""):
            return f"{where}: {problem}" if where else problem
        return None
    return _pairs_problem(parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8"))


def _body_kind(scope: Scope) -> str | None:
    if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


class InputGuard:
    """Pure ASGI middleware (no per-request task or thread): a 422 for unstorable text, else the app unchanged."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app, self.router = app, router
        self._declared: dict[int, dict[str, bool]] = {}  # by id(route): routes live as long as the app

    def _query_fit_problem(self, scope: Scope) -> str | None:
        """Unknown or repeated query parameters of an API operation; other paths, and no query, pass."""
        raw: bytes = scope.get("query_string", b"")
        path: str = scope.get("path", "")
        if not raw or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            return None
        for route, _ in matching_routes(self.router, scope):
            # The route that will serve it (path and method); none: the 404 or 405 comes first.
            if isinstance(route, APIRoute) and scope.get("method") in (route.methods or ()):
                declared = self._declared.get(id(route))
                if declared is None:
                    declared = self._declared[id(route)] = declared_query(route.dependant)
                return unknown_query_problem(declared, raw)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _path_problem(self.router, scope) or _query_problem(scope) or self._query_fit_problem(scope)
        kind = None if problem else _body_kind(scope)
        if kind is not None:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > JSON_BODY_LIMIT:
                    shown = f"JSON and form bodies are at most {JSON_BODY_LIMIT} bytes (send archives as octet-stream)"
                    await error_response(shown, 413)(scope, receive, send)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            problem = _body_problem(body, kind)
            receive = _replay(body, receive)
        if problem is not None:
            await error_response(printable(problem), 422)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the buffered body over once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install_input_guard(app: FastAPI) -> None:
    """Put InputGuard in front of every route of `app` (API, health and dashboard alike)."""
    app.add_middleware(InputGuard, router=app.router)
