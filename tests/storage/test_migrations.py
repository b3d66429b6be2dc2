"""Migrations: one history that builds the same schema as the code on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from scoring.storage.db import create_engine_for
from scoring.storage.migrate import current_revision, head_revision, upgrade
from scoring.storage.tables import Base


def _schema_differences(url: str) -> list[object]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_fresh_database_has_no_revision(db_url: str) -> None:
    assert current_revision(db_url) is None


def test_upgrade_brings_a_fresh_database_to_the_newest_revision(db_url: str) -> None:
    upgrade(db_url)

    assert current_revision(db_url) == head_revision()


def test_the_migrated_schema_is_exactly_the_schema_the_code_declares(db_url: str) -> None:
    upgrade(db_url)

    assert _schema_differences(db_url) == []
    assert _table_names(db_url) == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrading_twice_changes_nothing(db_url: str) -> None:
    upgrade(db_url)
    before = _table_names(db_url)

    upgrade(db_url)

    assert current_revision(db_url) == head_revision()
    assert _table_names(db_url) == before
    assert _schema_differences(db_url) == []


def test_migrations_run_from_any_working_directory(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    upgrade(sqlite_url)

    assert current_revision(sqlite_url) == head_revision()
    assert list(elsewhere.iterdir()) == []
