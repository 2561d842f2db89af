"""Migrations: a fresh database upgrades to head, matches the models (alembic check), and downgrades cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from app.db import get_engine
from app.migrate import alembic_config, check, upgrade
from tests.app.conftest import create_postgres_database, drop_postgres_database

TABLES = {
    "api_tokens",
    "datasets",
    "jobs",
    "job_metrics",
    "artifacts",
    "sweeps",
    "sweep_trials",
    "sweep_journal",
    "alembic_version",
}


def _round_trip(url: str) -> None:
    upgrade(url)
    check(url)  # raises if autogenerate would emit anything: models and migrations agree
    assert set(inspect(get_engine(url)).get_table_names()) == TABLES
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(get_engine(url)).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    check(url)


def test_fresh_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    _round_trip(url)
    get_engine(url).dispose()


@pytest.mark.integration
def test_fresh_postgresql() -> None:
    url = create_postgres_database()
    try:
        _round_trip(url)
    finally:
        drop_postgres_database(url)
