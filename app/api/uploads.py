"""Stream a multipart upload to disk with a byte counter (Starlette's form parser would spool it unbounded)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import PayloadTooLarge, Unprocessable
from app.guard import text_problem

FIELD_LIMIT = 4096  # bytes of one plain form field (name, format)
OVERHEAD = 64 * 1024  # multipart boundaries and headers allowed on top of the file itself


@dataclass
class Upload:
    """The archive written to `path` and the plain form fields that came with it."""

    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    """Callbacks of python-multipart's streaming parser: the `file` part goes to disk, other parts to memory."""

    def __init__(self, target: Path, limit: int) -> None:
        self.target, self.limit = target, limit
        self.headers: dict[bytes, bytes] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.name = ""
        self.filename: str | None = None
        self.value = bytearray()
        self.out: IO[bytes] | None = None
        self.size = 0
        self.file_seen = False
        self.fields: dict[str, str] = {}

    def on_part_begin(self) -> None:
        self.headers, self.value, self.name, self.filename = {}, bytearray(), "", None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options and self.name == "file":
            if self.file_seen:
                raise Unprocessable("send one archive per upload (one `file` part)")
            self.file_seen = True
            self.filename = _storable("file name", options[b"filename"].decode("utf-8", "replace"))
            self.out = self.target.open("xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.out is not None:
            self.size += end - start
            if self.size > self.limit:
                raise PayloadTooLarge(f"the upload is larger than MLTRAIN_MAX_UPLOAD_BYTES ({self.limit} bytes)")
            self.out.write(data[start:end])
        else:
            self.value += data[start:end]
            if len(self.value) > FIELD_LIMIT:
                raise Unprocessable(f"form field {self.name!r} is longer than {FIELD_LIMIT} bytes")

    def on_part_end(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        elif self.name:
            self.fields[self.name] = _storable(f"form field {self.name}", self.value.decode("utf-8", "replace"))


def _storable(where: str, text: str) -> str:
    """`text` unless it holds what no database stores (NUL): the guard middleware cannot see multipart fields."""
    problem = text_problem(text)
    if problem is not None:
        raise Unprocessable(f"{where}: {problem}")
    return text


async def receive_upload(request: Request, *, upload_dir: Path, limit: int) -> Upload:
    """Write the uploaded archive to a new file in `upload_dir`; 413 past `limit` bytes, leaving nothing behind.

    The archive is either the `file` part of a multipart/form-data body (with optional `name` and `format`
    fields) or the raw request body (any other content type; name and format then come from the query).
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    multipart = content_type == b"multipart/form-data"
    if multipart and b"boundary" not in options:
        raise Unprocessable("multipart/form-data without a boundary")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + (OVERHEAD if multipart else 0):
        raise PayloadTooLarge(f"the upload is larger than MLTRAIN_MAX_UPLOAD_BYTES ({limit} bytes)")
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = upload_dir / f"{uuid.uuid4().hex}.upload"
    receiver = _Receiver(target, limit)
    parser = MultipartParser(options[b"boundary"], _callbacks(receiver)) if multipart else None  # type: ignore[arg-type]
    received = 0
    try:
        if parser is None:
            receiver.out, receiver.file_seen = target.open("xb"), True
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + (OVERHEAD if multipart else 0):
                raise PayloadTooLarge(f"the upload is larger than MLTRAIN_MAX_UPLOAD_BYTES ({limit} bytes)")
            if parser is None:
                receiver.on_part_data(chunk, 0, len(chunk))
                continue
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise Unprocessable(f"malformed multipart body: {exc}") from None
        if parser is None:
            receiver.on_part_end()
        else:
            parser.finalize()
        if not receiver.file_seen:
            raise Unprocessable("the upload has no `file` part (multipart field `file` holding a zip or tar archive)")
        if receiver.size == 0:
            raise Unprocessable("empty upload: send a zip or tar archive")
    except BaseException:
        if receiver.out is not None:
            receiver.out.close()
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        raise
    return Upload(path=target, filename=receiver.filename or "", size=receiver.size, fields=receiver.fields)


def _callbacks(receiver: _Receiver) -> dict[str, object]:
    return {
        "on_part_begin": receiver.on_part_begin,
        "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value,
        "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
        "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end,
    }
