"""Fixtures of the reviewer UI's server-side tests: a migrated SQLite database and a clock."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from review_ui_web import PASSWORD
from sqlalchemy import Engine

from review_ui.accounts import add_user
from scoring.storage.db import UnitOfWork, create_engine_for, session_factory

# Cases are built by the review tests' shared builder, tests/review/review_cases.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "review"))


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with small costs: the same code path, without a tenth of a second per hash."""
    from argon2 import PasswordHasher

    from review_ui import accounts as module

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(module, "_hasher", cheap)
    monkeypatch.setattr(module, "_DUMMY_HASH", cheap.hash("dummy"))


@pytest.fixture
def ui_db_url(tmp_path: Path, _migrated_sqlite_template: Path) -> str:
    database = tmp_path / "ui.db"
    shutil.copyfile(_migrated_sqlite_template, database)
    return f"sqlite:///{database}"


@pytest.fixture
def ui_engine(ui_db_url: str) -> Iterator[Engine]:
    engine = create_engine_for(ui_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def accounts(ui_engine: Engine) -> dict[str, str]:
    """One account per role, all with ``PASSWORD``."""
    roles = {"rita": "reviewer", "sven": "senior_reviewer", "aino": "auditor"}
    with UnitOfWork.for_engine(ui_engine) as uow:
        for username, role in roles.items():
            add_user(uow=uow, username=username, role=role, password=PASSWORD)
    return roles


@pytest.fixture
def client(ui_db_url: str, clock: FakeClock, accounts: dict[str, str]) -> Iterator[TestClient]:
    """The UI mounted at /review as in the real app, on a local host name."""
    from review_ui.app import create_review_app

    sessions = session_factory(create_engine_for(ui_db_url))
    outer = FastAPI()
    outer.mount(
        "/review", create_review_app(unit_of_work=lambda: UnitOfWork(sessions), clock=clock)
    )
    with TestClient(outer, base_url="http://localhost", follow_redirects=False) as test_client:
        yield test_client
