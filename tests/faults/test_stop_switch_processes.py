"""The oversight stop switch reaches every running API process without a restart (R20).

Two ``installment serve`` processes share one database; a person with the oversight role
stops automated decisions, and both stop giving automated outcomes within the stated time
(each polls the record every 2 s; the bound allows for a loaded machine), then both resume.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from fault_load import application

from scoring.bureau.simulator import run_simulator
from scoring.domain.permissions import Actor, Role
from scoring.service.policy_in_force import switch_automation
from scoring.storage.db import UnitOfWork, create_engine_for

pytestmark = pytest.mark.slow

# Each process polls every 2 s; the rest is slack for a machine shared with other work.
STATED_SECONDS = 10.0


def _switch(database_url: str, *, automated: bool, reason: str) -> None:
    engine = create_engine_for(database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            user = uow.accounts.user_named("olga")
            if user is None:
                user = uow.accounts.add_user(
                    username="olga", password_hash="!", role="oversight", training_completed_on=None
                )
            olga = Actor(user.id, user.username, Role.OVERSIGHT)
        with UnitOfWork.for_engine(engine) as uow:
            switch_automation(
                uow=uow, actor=olga, automated=automated, reason=reason, now=datetime.now(UTC)
            )
    finally:
        engine.dispose()


def _seconds_until(apis, *, automated: bool) -> list[float]:
    """Seconds until each process's readiness reports the switch in the given state."""
    began = time.monotonic()
    reached: dict[str, float] = {}
    while len(reached) < len(apis) and time.monotonic() - began < 60:
        for api in apis:
            if api.base_url in reached:
                continue
            state = httpx.get(f"{api.base_url}/readyz", timeout=5).json()["control"]
            if state["automated_decisions"] is automated:
                reached[api.base_url] = time.monotonic() - began
        time.sleep(0.1)
    return [reached.get(api.base_url, float("inf")) for api in apis]


def _decide(api, key: str, n: int) -> dict:
    body = application(n, prefix="STOP")
    answer = httpx.post(
        f"{api.base_url}/v1/decisions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_two_running_processes_stop_and_resume_automated_decisions(
    serving_home, api_processes, tmp_path
):
    from fault_processes import issue_key

    database_url = f"sqlite:///{tmp_path / 'installment.db'}"
    key = issue_key(database_url)
    with run_simulator(serving_home.world) as bureau_url:
        apis = [
            api_processes(database_url=database_url, bureau_url=bureau_url, name=f"api-{i}")
            for i in range(2)
        ]
        before = [_decide(api, key, n) for n, api in enumerate(apis, start=1)]
        assert all(d["outcome"] != "pending_review" for d in before)

        _switch(database_url, automated=False, reason="bureau feed suspect since 09:00")
        stopped_after = _seconds_until(apis, automated=False)
        during = [_decide(api, key, n) for n, api in enumerate(apis, start=11)]

        _switch(database_url, automated=True, reason="bureau feed repaired")
        resumed_after = _seconds_until(apis, automated=True)
        after = [_decide(api, key, n) for n, api in enumerate(apis, start=21)]

    print(f"stopped after {stopped_after} s, resumed after {resumed_after} s")
    assert max(stopped_after) < STATED_SECONDS, stopped_after
    assert max(resumed_after) < STATED_SECONDS, resumed_after
    for decision in during:
        assert (decision["outcome"], decision["automated"]) == ("pending_review", False)
        assert [r["code"] for r in decision["reasons"]] == ["S04_AUTOMATION_PAUSED"]
    assert all(d["outcome"] != "pending_review" for d in after)
