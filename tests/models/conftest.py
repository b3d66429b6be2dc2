"""Shared fixtures: one small world, its snapshot, and an isolated MLflow home."""

from __future__ import annotations

import warnings

import pytest
from models_small_world import build_small_world

from scoring.config import load_settings
from scoring.features import build_training_snapshot

warnings.filterwarnings("ignore", message=".*valid feature names.*")


@pytest.fixture(scope="session")
def small_world():
    return build_small_world(customers=2500, seed=7)


@pytest.fixture(scope="session")
def snapshot(small_world):
    return build_training_snapshot(small_world)


@pytest.fixture(scope="session")
def truth(small_world):
    return small_world.applications_truth.set_index("application_id")["true_pd"]


@pytest.fixture(scope="session")
def mlflow_settings(tmp_path_factory):
    home = tmp_path_factory.mktemp("installment-home")
    return load_settings({"INSTALLMENT_HOME": str(home)})
