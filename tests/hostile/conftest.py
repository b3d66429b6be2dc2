"""Fixtures of the hostile-input tests: the full app on SQLite with a key holding every scope."""

from __future__ import annotations

import pytest
from hostile_app import build_app, build_runtime, issue_key


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def runtime(migrated_engine, tmp_path):  # type: ignore[no-untyped-def]
    return build_runtime(migrated_engine, tmp_path)


@pytest.fixture
def app(runtime):  # type: ignore[no-untyped-def]
    return build_app(runtime)


@pytest.fixture
def key(runtime) -> str:  # type: ignore[no-untyped-def]
    return issue_key(runtime)


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
