"""Fixtures of the review tests: a migrated database, a controllable clock, people and cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import review_cases
from sqlalchemy import Engine

from scoring.domain.review import Role
from scoring.storage.db import UnitOfWork, session_factory


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 1, 31, 9, 0, tzinfo=UTC))


@pytest.fixture
def uow_factory(migrated_engine: Engine) -> Callable[[], UnitOfWork]:
    sessions = session_factory(migrated_engine)
    return lambda: UnitOfWork(sessions)


class People:
    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        with uow_factory() as uow:
            self.anna = review_cases.user(uow.session, "anna", Role.REVIEWER)
            self.ben = review_cases.user(uow.session, "ben", Role.REVIEWER)
            self.senior = review_cases.user(uow.session, "sirje", Role.SENIOR_REVIEWER)
            self.senior2 = review_cases.user(uow.session, "siim", Role.SENIOR_REVIEWER)
            self.auditor = review_cases.user(uow.session, "aud", Role.AUDITOR)


@pytest.fixture
def people(uow_factory) -> People:
    return People(uow_factory)


@pytest.fixture
def make_decision(uow_factory, clock) -> Callable[..., str]:
    def make(**overrides) -> str:
        with uow_factory() as uow:
            overrides.setdefault("decided_at", clock() - timedelta(days=1))
            return review_cases.decision(uow.session, **overrides)

    return make
