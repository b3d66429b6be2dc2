"""Shared fixtures: databases to test against, on SQLite and on PostgreSQL.

``db_url`` runs a test twice, once per backend. PostgreSQL tests get a fresh schema
in the ``test`` database (``search_path`` set through the URL, so code under test
needs no schema awareness) and are skipped with the reason shown when the server
cannot be reached. ``INSTALLMENT_TEST_POSTGRES_URL`` points them elsewhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

# The suite never writes into the checkout's var/: everything settings place under
# INSTALLMENT_HOME goes to a throw-away folder unless a test sets its own.
os.environ.setdefault("INSTALLMENT_HOME", tempfile.mkdtemp(prefix="installment-tests-"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

POSTGRES_TEST_URL = os.environ.get(
    "INSTALLMENT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_postgres_unreachable: list[str] = []


def _postgres_conninfo() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_TEST_URL)
    parts = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "dbname": url.database or "test",
        "connect_timeout": 3,
    }
    if url.password:
        parts["password"] = url.password
    return " ".join(f"{name}={value}" for name, value in parts.items())


def _admin_connection():  # type: ignore[no-untyped-def]
    """An autocommit psycopg connection to the test database, or a skip with the reason."""
    import psycopg

    if _postgres_unreachable:
        pytest.skip(_postgres_unreachable[0])
    try:
        return psycopg.connect(_postgres_conninfo(), autocommit=True)
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        _postgres_unreachable.append(f"PostgreSQL unreachable for tests: {first}")
        pytest.skip(_postgres_unreachable[0])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of its own."""
    return f"sqlite:///{tmp_path / 'installment.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema of its own, dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_TEST_URL else "?"
    yield f"{POSTGRES_TEST_URL}{separator}options=-csearch_path%3D{schema}"
    with _admin_connection() as admin:
        # Do not hang the suite behind a connection a failed test left open.
        admin.execute("SET lock_timeout = '10s'")
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each database backend in turn (ids ``sqlite`` and ``postgres``)."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scoring.storage.migrate import upgrade

    template = tmp_path_factory.mktemp("template") / "installment.db"
    upgrade(f"sqlite:///{template}")
    return template


@pytest.fixture
def migrated_engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on a database upgraded to the newest schema."""
    from scoring.storage.db import create_engine_for
    from scoring.storage.migrate import upgrade

    if db_url.startswith("sqlite:///"):
        # A copy of a database migrated once per run: the same schema, without the wait.
        template = request.getfixturevalue("_migrated_sqlite_template")
        shutil.copyfile(template, db_url.removeprefix("sqlite:///"))
    else:
        upgrade(db_url)
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()
