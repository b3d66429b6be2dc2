"""Fixtures of the change-control tests: a migrated database, people, a fake registry."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from change_fakes import FakeChangeRegistry, add_person

from scoring.domain.permissions import Role
from scoring.storage.db import UnitOfWork

# The decision fakes (a transparent model) are shared with the service tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "service"))


@pytest.fixture
def uow_factory(migrated_engine):
    return lambda: UnitOfWork.for_engine(migrated_engine)


@pytest.fixture
def registry() -> FakeChangeRegistry:
    return FakeChangeRegistry()


@pytest.fixture
def people(uow_factory):
    return {
        "analyst": add_person(uow_factory, "anna.analyst", Role.RISK_ANALYST),
        "approver": add_person(uow_factory, "peeter.approver", Role.RISK_APPROVER),
        "approver2": add_person(uow_factory, "mari.approver", Role.RISK_APPROVER),
        "reviewer": add_person(uow_factory, "rein.reviewer", Role.REVIEWER),
        "oversight": add_person(uow_factory, "olga.oversight", Role.OVERSIGHT),
    }
