"""The API on a migrated database with a fake bureau and a transparent model, reviewers, a
hand-moved clock, and the sales system's webhook receiver: every path of the lifecycle."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

_TESTS = Path(__file__).parents[1]
for folder in ("service", "api", "review"):
    if str(_TESTS / folder) not in sys.path:
        sys.path.insert(0, str(_TESTS / folder))

import review_cases  # noqa: E402
from lifecycle_intercepts import APPROVING  # noqa: E402
from service_fakes import FakeBureau, LinearModel  # noqa: E402
from webhook_receiver import SECRET, Receiver, free_port  # noqa: E402

from scoring.config import load_settings  # noqa: E402
from scoring.domain.review import Role  # noqa: E402
from scoring.service import webhooks  # noqa: E402
from scoring.service.api_keys import create_api_key  # noqa: E402
from scoring.service.model_provider import StaticModelProvider  # noqa: E402
from scoring.service.policy_files import current_policy  # noqa: E402
from scoring.service.runtime import Runtime  # noqa: E402
from scoring.storage.db import UnitOfWork, session_factory  # noqa: E402

SCOPES = ("decisions:write", "decisions:read", "reviews:write", "reviews:read")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Lifecycle:
    """The sales system's view (HTTP), the reviewers' actions and the webhook receiver."""

    def __init__(self, runtime: Runtime, api: TestClient, receiver: Receiver, clock: Clock):
        self.runtime = runtime
        self.api = api
        self.receiver = receiver
        self.clock = clock
        key = create_api_key(uow=UnitOfWork(runtime.sessions), client="sales", scopes=SCOPES)
        self.headers = {"Authorization": f"Bearer {key.key}"}
        with self.uow() as uow:
            self.anna = review_cases.user(uow.session, "anna", Role.REVIEWER)
            self.senior = review_cases.user(uow.session, "sirje", Role.SENIOR_REVIEWER)
            self.senior2 = review_cases.user(uow.session, "siim", Role.SENIOR_REVIEWER)
        webhooks.add_subscription(
            uow=self.uow(), client="sales", url=receiver.url, secret=SECRET, clock=clock
        )
        self._applications = iter(range(1, 1_000_000))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.runtime.sessions)

    def model(self, intercept: float) -> None:
        self.runtime.models = StaticModelProvider(LinearModel(version="1", intercept=intercept))

    def stop_switch(self, on: bool) -> None:
        self.runtime.policy = replace(self.runtime.policy, all_applications_to_manual_review=on)

    def apply(self, code: str, *, amount: float = 500.0, **extra) -> dict:
        body = {
            "application_id": f"APP-{next(self._applications):05d}",
            "personal_code": code,
            "purchase": {
                "amount_eur": amount,
                "term_months": 12,
                "product_category": "electronics",
            },
            "channel": "web",
            **extra,
        }
        answer = self.api.post("/v1/decisions", json=body, headers=self.headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def get(self, url: str) -> dict:
        answer = self.api.get(url, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, url: str, body: dict) -> object:
        return self.api.post(url, json=body, headers=self.headers)

    def delivered(self) -> list[dict]:
        """Deliver everything due and return every event the receiver accepted, in order."""
        import httpx

        with httpx.Client(timeout=5.0) as http:
            while webhooks.deliver_due(uow_factory=self.uow, http=http, clock=self.clock).attempted:
                pass
        return list(self.receiver.accepted.values())


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 1, 31, 9, 0, tzinfo=UTC))


@pytest.fixture
def runtime(migrated_engine, tmp_path, clock) -> Runtime:
    return Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=session_factory(migrated_engine),
        bureau=FakeBureau("good"),
        models=StaticModelProvider(LinearModel(version="1", intercept=APPROVING)),
        policy=current_policy(),
        pseudonym_key=bytes(range(32)),
        clock=clock,
    )


@pytest.fixture
def receiver(clock) -> Iterator[Receiver]:
    receiver = Receiver(free_port(), clock)
    yield receiver
    receiver.stop()


@pytest.fixture
def life(runtime, receiver, clock) -> Iterator[Lifecycle]:
    from scoring.api.app import create_app

    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        yield Lifecycle(runtime, api, receiver, clock)


@pytest.fixture
def codes() -> Callable[[], str]:
    """Valid Estonian personal codes of adults, a new person each call."""
    from datetime import date

    from scoring.domain.personal_code import build

    serial = iter(range(1, 999))

    def code() -> str:
        return build(date(1980, 1, 8), female=False, serial=next(serial))

    return code
