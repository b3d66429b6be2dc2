"""Fixtures of the fault tests: a serving home with a champion, the bureau, API processes.

The home (a small world and a LightGBM champion in a private MLflow registry) is made once
per run; API processes started from it share its pseudonym key and registry, as replicas
of one deployment would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fault_processes import ApiProcess, start_api

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

CUSTOMERS = 800


@dataclass(frozen=True)
class ServingHome:
    home: Path
    world: Path


@dataclass
class _Columns:
    problems: list[str]

    def raise_for_failure(self) -> None:
        if self.problems:
            raise ValueError("; ".join(self.problems))

    def summary(self) -> str:
        return "columns checked against the contract"


def _contract_columns(snapshot, contract) -> _Columns:
    # The contract's column check without Great Expectations, whose import alone takes ~10 s.
    listed = {f.name for f in contract.fields}
    return _Columns([f"{c} not in contract" for c in snapshot.columns if c not in listed])


@pytest.fixture(scope="session")
def serving_home(tmp_path_factory: pytest.TempPathFactory) -> ServingHome:
    """A home holding a small world and a registered LightGBM champion."""
    from data_contracts.loader import load_contract
    from models import registry
    from models.training.run import snapshot_from_world, train_run
    from models.world import generate_world, write_world
    from scoring.config import load_settings, read_or_create_key

    home = tmp_path_factory.mktemp("serving-home")
    settings = load_settings({"INSTALLMENT_HOME": str(home)})
    world = generate_world(customers=CUSTOMERS, seed=23, as_of=datetime.now(UTC).date())
    world_dir = write_world(world, home / "world")
    run = train_run(
        snapshot_from_world(world_dir), load_contract("training_snapshot"),
        run_dir=home / "run", settings=settings, validate=_contract_columns,
        bootstrap_resamples=5,
        # A world this small trains a model to serve, not one to judge: below the
        # product's minimum sample size, which only this fixture lowers.
        min_rows=200, min_bad=20,
    )  # fmt: skip
    registry.set_alias("champion", run.versions["lightgbm"], settings=settings)
    read_or_create_key(settings.pseudonym_key_file)
    return ServingHome(home=home, world=world_dir)


@pytest.fixture
def api_processes(serving_home: ServingHome, tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    """Start ``installment serve`` processes from the serving home; all stopped at the end."""
    started: list[ApiProcess] = []

    def start(*, database_url: str, bureau_url: str, name: str = "api") -> ApiProcess:
        api = start_api(
            home=serving_home.home, database_url=database_url, bureau_url=bureau_url,
            log=tmp_path / f"{name}-{len(started)}.log",
        )  # fmt: skip
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture(scope="module")
def shared_postgres_url() -> Iterator[str]:
    """A fresh schema on the shared PostgreSQL server for a whole module, dropped after it."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get(
        "INSTALLMENT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    url = make_url(base)
    conninfo = (
        f"host={url.host or '127.0.0.1'} port={url.port or 5432} "
        f"user={url.username or 'postgres'} dbname={url.database or 'test'} connect_timeout=3"
        + (f" password={url.password}" if url.password else "")
    )
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL unreachable for tests: {str(error).strip()[:200]}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SET lock_timeout = '10s'")
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
