"""The S3 backend of the object store (AWS S3, MinIO, moto), through boto3.

Why boto3: the AWS SDK itself (maintained by AWS, weekly releases), synchronous like the Celery workers and the
API's file routes, thread-safe clients, multipart uploads and downloads via s3transfer, standard retries, and
it reads the standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
AWS_DEFAULT_REGION). fsspec/s3fs would add an async layer underneath; obstore is younger and its streaming API
fits FastAPI less directly. Imported only when an `s3://` URL is opened (app.storage.open_store).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.storage import CHUNK_BYTES, ObjectInfo, ObjectStore, check_key

_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Store(ObjectStore):
    """Objects under `s3://bucket/prefix/`; keys are joined onto the prefix."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix, client
        self.url = f"s3://{bucket}/{prefix}"

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3Store:
        """Parse `s3://bucket[/prefix]`; the endpoint (MinIO, moto) is explicit or AWS_ENDPOINT_URL, else AWS."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}: use s3://bucket/prefix")
        prefix = prefix.strip("/")
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},  # transient 5xx/throttling: retried, not a failed job
            # MinIO and moto serve buckets on a path, not a virtual host name.
            s3={"addressing_style": "path"} if endpoint else None,
        )
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=region, config=config)
        return cls(bucket, f"{prefix}/" if prefix else "", client)

    def _key(self, key: str, *, prefix: bool = False) -> str:
        return self.prefix + check_key(key, prefix=prefix)

    def _info(self, full_key: str, size: int, etag: str) -> ObjectInfo:
        return ObjectInfo(key=full_key[len(self.prefix) :], size=int(size), etag=etag.strip('"'))

    def put_file(self, key: str, source: Path) -> ObjectInfo:
        """Upload (multipart above s3transfer's threshold); an S3 PUT replaces the object atomically."""
        full = self._key(key)
        self.client.upload_file(str(source), self.bucket, full)
        head = self.client.head_object(Bucket=self.bucket, Key=full)
        return self._info(full, head["ContentLength"], head["ETag"])

    def get_file(self, key: str, target: Path) -> None:
        """Download to a temporary name beside `target`, then rename (a killed download leaves no half file)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            self.client.download_file(self.bucket, self._key(key), str(partial))
        except ClientError as exc:
            partial.unlink(missing_ok=True)
            if _missing(exc):
                raise FileNotFoundError(key) from None
            raise
        partial.replace(target)

    def open_read(self, key: str) -> Iterator[bytes]:
        """GET now (a missing key raises here), then stream the body in 1 MiB chunks."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from None
            raise

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK_BYTES)
            finally:
                body.close()

        return chunks()

    def stat(self, key: str) -> ObjectInfo | None:
        """HEAD the object."""
        full = self._key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return self._info(full, head["ContentLength"], head["ETag"])

    def list(self, prefix: str) -> list[ObjectInfo]:
        """ListObjectsV2, every page."""
        found = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix, prefix=True)
        )
        for page in pages:
            for item in page.get("Contents", []):
                found.append(self._info(item["Key"], item["Size"], item["ETag"]))
        return sorted(found, key=lambda info: info.key)

    def delete(self, prefix: str) -> None:
        """DeleteObjects in batches of 1000 (the API's limit)."""
        if not check_key(prefix, prefix=True).strip("/"):
            raise ValueError("refusing to delete the whole store")
        keys = [self.prefix + info.key for info in self.list(prefix)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def key_url(self, key: str) -> str:
        """`s3://bucket/prefix/key`."""
        return f"s3://{self.bucket}/{self._key(key, prefix=True)}"
