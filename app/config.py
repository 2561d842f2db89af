"""Service configuration: one pydantic-settings class (env prefix MLTRAIN_) that fails fast on bad values."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# ml.config.MAX_EPOCHS is the library's hard bound; the service may only lower it (see max_epochs).
LIBRARY_MAX_EPOCHS = 10_000


class SettingsError(ValueError):
    """The environment holds an invalid MLTRAIN_* value; the message names each one and what is expected."""


class Settings(BaseSettings):
    """Everything the API and the workers read from the environment."""

    model_config = SettingsConfigDict(env_prefix="MLTRAIN_", extra="ignore", validate_default=True)

    database_url: str = "sqlite:///var/mltrain.db"
    broker_url: str = "sqla+sqlite:///var/broker.db"
    object_dir: Path = Path("var/objects")
    # Where job outputs, checkpoints and uploaded data sets are stored: "" = the folder object_dir (one machine,
    # or a shared file system); s3://bucket/prefix for S3 or MinIO (endpoint below, credentials from AWS_*).
    object_url: str = ""
    s3_endpoint_url: str | None = None
    # This machine's working folder: jobs train into work_dir/jobs/<id>, data sets are cached below it. Default:
    # object_dir, which with the local store is the store itself (nothing is copied, today's layout).
    work_dir: Path | None = None
    # Folders whose contents may be registered as data sets (comma-separated in the environment).
    dataset_roots: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [Path("var/datasets")])
    # s3:// prefixes whose sub-prefixes may be registered (comma-separated); workers sync them to WORK_DIR/cache.
    dataset_url_roots: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    # An upload is unpacked inside its request: bound the members (each a header and an inode; 20,000 unpack in
    # about 6 s on 2 cores, ten times the largest supported data set's ~1,800 files) and the unpacked bytes.
    max_archive_members: int = Field(default=20_000, ge=1, le=10_000_000)
    max_archive_bytes: int = Field(default=16 * 1024**3, gt=0)
    # Uploads are streamed here first (same file system as object_dir keeps the final move cheap).
    upload_dir: Path = Path("var/uploads")
    # Job limits: the API refuses what a worker could never finish or that would flood the queue.
    max_epochs: int = Field(default=LIBRARY_MAX_EPOCHS, ge=1, le=LIBRARY_MAX_EPOCHS)
    max_active_jobs_per_owner: int = Field(default=100, ge=1, le=100_000)
    max_attempts: int = Field(default=3, ge=1, le=100)
    # Server-sent events: how often the job row is polled and how long one stream may stay open.
    events_poll_seconds: float = Field(default=0.5, gt=0.0, le=60.0)
    events_max_seconds: float = Field(default=3600.0, gt=0.0, le=86_400.0)
    torch_threads: int = Field(default=1, ge=1, le=256)
    # Processes a validate job parses files on; 0: every core the worker process may use.
    scan_workers: int = Field(default=0, ge=0, le=256)
    lease_seconds: float = Field(default=60.0, gt=1.0)
    token_file: Path = Path("var/admin-token")

    @field_validator("dataset_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator("dataset_url_roots", mode="before")
    @classmethod
    def _split_url_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("dataset_url_roots")
    @classmethod
    def _s3_roots(cls, value: list[str]) -> list[str]:
        for root in value:
            if not root.startswith("s3://") or len(root.rstrip("/")) <= len("s3://"):
                raise ValueError(f"{root!r}: give s3://BUCKET/PREFIX prefixes (comma-separated)")
        return [root.rstrip("/") + "/" for root in value]

    @field_validator("dataset_roots")
    @classmethod
    def _some_roots(cls, value: list[Path]) -> list[Path]:
        if not value:
            raise ValueError("give at least one folder (comma-separated) that data sets may be registered from")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if not value.startswith(("sqla+", "redis://", "rediss://", "amqp://", "memory://")):
            raise ValueError("must be sqla+sqlite:///PATH, redis://HOST:PORT/N or amqp://...")
        return value

    @field_validator("object_url")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value and not (value.startswith("file://") or (value.startswith("s3://") and len(value) > len("s3://"))):
            raise ValueError("must be empty (the folder MLTRAIN_OBJECT_DIR), file:///FOLDER or s3://BUCKET/PREFIX")
        return value

    @property
    def store_url(self) -> str:
        """The object store's URL: MLTRAIN_OBJECT_URL, else the object folder."""
        return self.object_url or str(self.object_dir)

    def s3_endpoint(self) -> str | None:
        """The S3 endpoint (MinIO, moto): MLTRAIN_S3_ENDPOINT_URL, else AWS_ENDPOINT_URL, else AWS itself."""
        return self.s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    @property
    def work_root(self) -> Path:
        """This machine's working folder (MLTRAIN_WORK_DIR, default the object folder)."""
        return self.work_dir if self.work_dir is not None else self.object_dir

    @property
    def upload_root(self) -> Path:
        """Where uploaded archives are unpacked (`OBJECT_DIR/datasets/<id>`, server-chosen names only)."""
        return self.object_dir / "datasets"

    def registration_roots(self) -> list[Path]:
        """Folders a client may register by path: MLTRAIN_DATASET_ROOTS, absolute with symlinks resolved."""
        return [root.expanduser().resolve() for root in self.dataset_roots]

    def resolved_roots(self) -> list[Path]:
        """Every folder a data set may live in: the registration roots plus the upload root (workers check it)."""
        return [*self.registration_roots(), self.upload_root.expanduser().resolve()]


def load_settings() -> Settings:
    """Read the settings, turning a pydantic error into one message that names each bad MLTRAIN_* variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"MLTRAIN_{'_'.join(str(p) for p in error['loc'][:1]).upper()}: {error['msg']}" for error in exc.errors()
        ]
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
