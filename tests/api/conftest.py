"""An API application on a migrated SQLite database, a fake bureau and a transparent model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))

from api_requests import issue_key  # noqa: E402
from service_fakes import FakeBureau, LinearModel, StepClock  # noqa: E402

from scoring.config import load_settings  # noqa: E402
from scoring.service.model_provider import StaticModelProvider  # noqa: E402
from scoring.service.policy_files import current_policy  # noqa: E402
from scoring.service.runtime import Runtime  # noqa: E402
from scoring.storage.db import session_factory  # noqa: E402


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def runtime(migrated_engine, tmp_path):
    return Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=session_factory(migrated_engine),
        bureau=FakeBureau("good"),
        models=StaticModelProvider(LinearModel(version="1", intercept=-4.5)),
        policy=current_policy(),
        pseudonym_key=bytes(range(32)),
        clock=StepClock(),
    )


@pytest.fixture
def api(runtime):
    from scoring.api.app import create_app

    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def key(runtime) -> str:
    return issue_key(runtime)


@pytest.fixture
def auth(key) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
