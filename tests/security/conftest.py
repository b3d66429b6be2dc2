"""Fixtures of the security tests: the full app, API keys of every kind, reviewer accounts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "hostile"))

from hostile_app import build_app, build_runtime, issue_key  # noqa: E402

PASSWORD = "correct horse battery staple"
ROLES = {
    "rita": "reviewer",
    "sven": "senior_reviewer",
    "aino": "auditor",
    "dora": "data_protection_officer",
    "ria": "risk_analyst",
    "rolf": "risk_approver",
    "olle": "oversight",
}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with small costs: the same code path, without a tenth of a second per hash."""
    from argon2 import PasswordHasher

    from review_ui import accounts as module

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(module, "_hasher", cheap)
    monkeypatch.setattr(module, "_DUMMY_HASH", cheap.hash("dummy"))


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
def api(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    # A local host name, so the reviewer UI's session cookie is not marked Secure-only.
    with TestClient(
        app, base_url="http://localhost", raise_server_exceptions=False, follow_redirects=False
    ) as client:
        yield client


@pytest.fixture
def accounts(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from review_ui.accounts import add_user
    from scoring.storage.db import UnitOfWork

    with UnitOfWork(runtime.sessions) as uow:
        for username, role in ROLES.items():
            add_user(uow=uow, username=username, role=role, password=PASSWORD)
    return ROLES


@pytest.fixture
def key_with(runtime):  # type: ignore[no-untyped-def]
    """``key_with(*scopes)``: a new key of client ``sales`` holding exactly those scopes."""
    return lambda *scopes: issue_key(runtime, scopes=scopes)
