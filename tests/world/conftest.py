"""One small world per test session, generated once; tests only read it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from models.world import World, generate_world, write_world

AS_OF = date(2025, 6, 30)
SEED = 20250630


@pytest.fixture(scope="session")
def world() -> World:
    return generate_world(customers=20_000, seed=SEED, as_of=AS_OF)


@pytest.fixture(scope="session")
def small_world() -> World:
    return generate_world(customers=2_000, seed=SEED, as_of=AS_OF)


@pytest.fixture(scope="session")
def world_folder(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(small_world, tmp_path_factory.mktemp("worlds") / "world")
