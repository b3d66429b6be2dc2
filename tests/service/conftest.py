"""Fixtures of the decision-service tests: a migrated database, a client, fakes for the rest."""

from __future__ import annotations

from dataclasses import replace

import pytest
from service_fakes import PSEUDONYM_KEY, FakeBureau, LinearModel, StepClock

from scoring.service.api_keys import authenticate, create_api_key
from scoring.service.model_provider import StaticModelProvider
from scoring.service.policy_files import current_policy
from scoring.storage.db import UnitOfWork


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test asks for both backends with ``BOTH_DATABASES``."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def uow_factory(migrated_engine):
    return lambda: UnitOfWork.for_engine(migrated_engine)


@pytest.fixture
def client(uow_factory):
    issued = create_api_key(
        uow=uow_factory(), client="sales", scopes=["decisions:write", "decisions:read"]
    )
    with uow_factory() as uow:
        return authenticate(session=uow.session, presented=issued.key)


@pytest.fixture
def bureau():
    return FakeBureau("good")


@pytest.fixture
def models():
    return StaticModelProvider(LinearModel(version="1", intercept=-4.5))


@pytest.fixture
def policy():
    return current_policy()


@pytest.fixture
def paused_policy(policy):
    return replace(policy, all_applications_to_manual_review=True)


@pytest.fixture
def clock():
    return StepClock()


@pytest.fixture
def decide(uow_factory, client, bureau, models, policy, clock):
    """Call ``make_decision`` with the fixtures; keyword arguments override any of them."""
    from scoring.service.decisions import make_decision

    def run(request, *, key=None, **overrides):
        arguments = dict(
            client=client, uow=uow_factory(), bureau=bureau, models=models, policy=policy,
            pseudonym_key=PSEUDONYM_KEY, clock=clock,
        )  # fmt: skip
        arguments.update(overrides)
        return make_decision(request=request, idempotency_key=key, **arguments)

    return run
