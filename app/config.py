"""Service configuration: one pydantic-settings class (env prefix MLTRAIN_) that fails fast on bad values."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the API and the workers read from the environment."""

    model_config = SettingsConfigDict(env_prefix="MLTRAIN_", extra="ignore")

    database_url: str = "sqlite:///var/mltrain.db"
    broker_url: str = "sqla+sqlite:///var/broker.db"
    object_dir: Path = Path("var/objects")
    # Folders whose contents may be registered as data sets (comma-separated in the environment).
    dataset_roots: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [Path("var/datasets")])
    max_upload_bytes: int = Field(default=2 * 1024**3, gt=0)
    torch_threads: int = Field(default=1, ge=1, le=256)
    max_attempts: int = Field(default=3, ge=1, le=100)
    lease_seconds: float = Field(default=60.0, gt=1.0)
    heartbeat_seconds: float = Field(default=10.0, gt=0.05)
    token_file: Path = Path("var/admin-token")

    @field_validator("dataset_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("MLTRAIN_DATABASE_URL must be sqlite:///... or postgresql+psycopg://...")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if not value.startswith(("sqla+", "redis://", "rediss://", "amqp://", "memory://")):
            raise ValueError("MLTRAIN_BROKER_URL must be sqla+sqlite:///..., redis://... or amqp://...")
        return value

    def resolved_roots(self) -> list[Path]:
        """Allowed data-set roots, absolute with symlinks resolved (uploads unpack under the object folder)."""
        return [root.expanduser().resolve() for root in [*self.dataset_roots, self.upload_root]]

    @property
    def upload_root(self) -> Path:
        """Where uploaded archives are unpacked (server-chosen names only)."""
        return self.object_dir / "datasets"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
