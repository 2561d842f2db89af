"""API fixtures: a migrated database (SQLite per test; one PostgreSQL database per session), a real client, tokens."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from app.api.deps import get_enqueuer
from app.config import Settings
from app.db import Base, dispose_engines, get_engine, session_scope
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


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable, except in CI (CI=true), where these tests must run."""
    if not postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true: these tests must run")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")


def create_postgres_database() -> str:
    """Create an empty database; return its SQLAlchemy URL."""
    require_postgres()
    name = f"mltrain_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database made by create_postgres_database (closing this process' pooled connections first)."""
    get_engine(url).dispose()
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the test session, dropped at its end."""
    url = create_postgres_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


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

    def run_validations(self) -> list[str | None]:
        """Run every enqueued validate job in this process, as a `data` worker would (worker.runner.execute_job)."""
        from worker.runner import execute_job

        scans = [job_id for job_id, queue in self.enqueued if queue == "data"]
        self.enqueued = [(job_id, queue) for job_id, queue in self.enqueued if queue != "data"]
        return [execute_job(job_id, self.settings) for job_id in scans]

    def register(self, headers: dict[str, str], **body: object) -> dict[str, Any]:
        """POST /datasets (202, validating), run its scan, and return GET /datasets/{id}."""
        response = self.client.post("/api/v1/datasets", json=body, headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "validating" and response.json()["report"] is None
        self.run_validations()
        dataset = self.client.get(f"/api/v1/datasets/{response.json()['id']}", headers=headers)
        assert dataset.status_code == 200, dataset.text
        result: dict[str, Any] = dataset.json()
        return result


def make_settings(tmp_path: Path, url: str) -> Settings:
    """Settings that keep every file of the app under `tmp_path`."""
    roots = tmp_path / "datasets"
    roots.mkdir(exist_ok=True)
    return Settings(
        database_url=url,
        broker_url="memory://",
        object_dir=tmp_path / "objects",
        upload_dir=tmp_path / "uploads",
        dataset_roots=[roots],
        max_upload_bytes=1 << 20,
        max_epochs=500,
        max_active_jobs_per_owner=20,
        events_poll_seconds=0.05,
        events_max_seconds=60,  # a bound on a stream that never ends; a loaded CI machine needs seconds
    )


def _empty_tables(url: str) -> None:
    with session_scope(url) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The app on a migrated database, with the enqueue dependency replaced by a recorder."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mltrain.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("postgres_url")
        _empty_tables(url)
    settings = make_settings(tmp_path, url)
    app = create_app(settings)
    api = Api(client=None, settings=settings)  # type: ignore[arg-type]
    app.dependency_overrides[get_enqueuer] = lambda: lambda job_id, queue: api.enqueued.append((job_id, queue))
    with TestClient(app) as client:
        api.client = client
        yield api
    if request.param == "sqlite":
        get_engine(url).dispose()


@pytest.fixture(scope="session", autouse=True)
def _dispose_engines_at_exit() -> Iterator[None]:
    yield
    dispose_engines()
