"""API fixtures: a migrated database (SQLite, and PostgreSQL when reachable), a real HTTP client, tokens."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import session_scope
from app.main import create_app
from app.migrate import upgrade
from app.services.tokens import create_token

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_available() -> bool:
    """True if the local PostgreSQL answers."""
    try:
        psycopg.connect(POSTGRES_ADMIN, connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def fresh_postgres_url() -> str:
    """Create an empty database and return its SQLAlchemy URL; CI must have PostgreSQL, so skip only locally."""
    if not postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true: these tests must run")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"mltrain_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@dataclass
class Api:
    """A test client plus what the app enqueued."""

    client: TestClient
    settings: Settings
    enqueued: list[tuple[str, str]] = field(default_factory=list)

    def token(self, name: str) -> dict[str, str]:
        """Create a token for owner `name`; return its Authorization header."""
        with session_scope(self.settings.database_url) as session:
            token = create_token(session, name=f"{name}-{uuid.uuid4().hex[:6]}", owner=name)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The app on a freshly migrated database, with a recording enqueue function."""
    url = f"sqlite:///{tmp_path / 'mltrain.db'}" if request.param == "sqlite" else fresh_postgres_url()
    roots = tmp_path / "datasets"
    roots.mkdir()
    settings = Settings(
        database_url=url,
        broker_url="memory://",
        object_dir=tmp_path / "objects",
        dataset_roots=[roots],
        max_upload_bytes=1 << 20,
    )
    upgrade(url)
    api = Api(client=None, settings=settings)  # type: ignore[arg-type]
    app = create_app(settings, enqueue=lambda job_id, queue: api.enqueued.append((job_id, queue)))
    with TestClient(app) as client:
        api.client = client
        yield api
