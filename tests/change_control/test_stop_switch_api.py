"""The stop switch at run time, through the API: decisions go to a person and say why."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from change_fakes import NOW
from fastapi.testclient import TestClient

from scoring.config import load_settings
from scoring.service import policy_in_force as pif
from scoring.service.model_provider import StaticModelProvider
from scoring.service.policy_files import current_policy, policy_for_version
from scoring.service.runtime import Runtime
from scoring.storage.db import session_factory

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_after_the_switch_no_automated_outcome_and_each_decision_records_it(
    migrated_engine, uow_factory, people, tmp_path
):
    from api_requests import body, issue_key
    from service_fakes import FakeBureau, LinearModel, StepClock

    from scoring.api.app import create_app

    clock = StepClock()
    policies = pif.PolicyInForce(
        unit_of_work=uow_factory,
        clock=clock,
        start_policy=current_policy(),
        policy_for_version=policy_for_version,
    )
    runtime = Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=session_factory(migrated_engine),
        bureau=FakeBureau("good"),
        models=StaticModelProvider(LinearModel(version="1", intercept=-6.0)),
        policy=current_policy(),
        pseudonym_key=bytes(range(32)),
        clock=clock,
        policy_in_force=policies,
    )
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        before = api.post("/v1/decisions", json=body(application_id="A-1"), headers=auth)
        with uow_factory() as uow:
            pif.switch_automation(
                uow=uow,
                actor=people["oversight"],
                automated=False,
                reason="incident: bureau feed suspect",
                now=NOW,
            )
        policies.refresh()  # what each process's poller does every 2 s
        during = api.post("/v1/decisions", json=body(application_id="A-2"), headers=auth)
        ready = api.get("/readyz").json()
        with uow_factory() as uow:
            pif.switch_automation(
                uow=uow, actor=people["oversight"], automated=True, reason="incident over", now=NOW
            )
        policies.refresh()
        after = api.post("/v1/decisions", json=body(application_id="A-3"), headers=auth)

    assert (before.json()["outcome"], before.json()["automated"]) == ("approve", True)
    stopped = during.json()
    assert (stopped["outcome"], stopped["automated"]) == ("pending_review", False)
    assert [r["code"] for r in stopped["reasons"]] == ["S04_AUTOMATION_PAUSED"]
    assert stopped["policy_rules"] == [{"code": "S04_AUTOMATION_PAUSED", "effect": "manual_review"}]
    assert ready["control"]["automated_decisions"] is False
    assert (after.json()["outcome"], after.json()["automated"]) == ("approve", True)
    with uow_factory() as uow:
        assert uow.review_cases.exist()
