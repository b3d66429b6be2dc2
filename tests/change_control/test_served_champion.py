"""The engine serves only what it approved: the champion is the product's record, and an
alias moved in the registry behind the product's back is ignored, counted, reported, audited."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from change_fakes import NOW
from fastapi.testclient import TestClient

from scoring.config import load_settings
from scoring.service import change_control as cc
from scoring.service.errors import NoChampionModel
from scoring.service.model_provider import RegistryModelProvider
from scoring.service.policy_files import current_policy
from scoring.service.recorded_champion import RecordedChampion
from scoring.service.runtime import Runtime
from scoring.storage.db import session_factory

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))


def _approve_champion(uow_factory, registry, people, version):
    with uow_factory() as uow:
        change = cc.propose_champion(
            uow=uow,
            registry=registry,
            actor=people["analyst"],
            version=version,
            reason="the better model",
            now=NOW,
        )
    with uow_factory() as uow:
        cc.approve_change(
            uow=uow,
            registry=registry,
            actor=people["approver"],
            change_id=change.id,
            note="agreed",
            now=NOW,
        )


def _provider(uow_factory, registry, *, adopt=True) -> RegistryModelProvider:
    record = RecordedChampion(unit_of_work=uow_factory, clock=lambda: NOW, adopt_unrecorded=adopt)
    return RegistryModelProvider(registry=registry, record=record)


def _registry_audit(uow_factory) -> list[dict]:
    with uow_factory() as uow:
        entries = uow.audit_log.entries_for(entity_type="model_registry", entity_id="champion")
        return [dict(e.details, action=e.action, actor=e.actor) for e in entries]


def test_an_alias_moved_outside_the_product_is_ignored_counted_and_audited_once(
    uow_factory, registry, people
):
    _approve_champion(uow_factory, registry, people, "1")
    provider = _provider(uow_factory, registry)
    assert provider.champion().version == "1"

    registry.aliases["champion"] = "2"  # what one unauthenticated MLflow call does
    provider.refresh()
    provider.refresh()

    assert provider.champion().version == "1"
    assert provider.registry_state() == {
        "served_from": "product record",
        "approved_champion": "1",
        "registry_alias": "2",
        "alias_moved_outside_product": True,
        "alias_moves_seen": 1,
    }
    assert _registry_audit(uow_factory) == [
        {
            "action": "registry_alias_moved_outside_product",
            "actor": "system:model-provider",
            "approved": "1",
            "alias": "2",
            "served": "1",
        }
    ]
    assert "2" not in registry.loads


def test_an_approved_change_is_served_and_puts_the_alias_right(uow_factory, registry, people):
    _approve_champion(uow_factory, registry, people, "1")
    provider = _provider(uow_factory, registry)
    registry.aliases["champion"] = "3"
    provider.refresh()

    _approve_champion(uow_factory, registry, people, "2")

    assert provider.refresh() is True
    assert provider.champion().version == "2"
    assert provider.registry_state()["alias_moved_outside_product"] is False


def test_a_database_with_no_record_adopts_the_registry_champion_once_and_says_so(
    uow_factory, registry
):
    registry.aliases["champion"] = "1"
    provider = _provider(uow_factory, registry)

    assert provider.champion().version == "1"
    with uow_factory() as uow:
        (change,) = cc.list_changes(uow=uow)
        trail = uow.audit_log.entries_for(entity_type="change_request", entity_id=str(change.id))
    assert (change.status.value, change.model_version, change.proposed_by) == ("adopted", "1", None)
    assert [(e.actor, e.action) for e in trail] == [
        ("system:model-provider", "champion_adopted_from_registry")
    ]
    # From now on the record decides: a moved alias is not adopted again.
    registry.aliases["champion"] = "2"
    provider.refresh()
    assert provider.champion().version == "1"


def test_with_adoption_off_nothing_unapproved_is_served(uow_factory, registry):
    registry.aliases["champion"] = "1"
    provider = _provider(uow_factory, registry, adopt=False)

    with pytest.raises(NoChampionModel, match="no approved champion is recorded"):
        provider.champion()
    assert registry.loads == []


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_the_api_keeps_serving_the_approved_version_and_says_so(
    migrated_engine, uow_factory, registry, people, tmp_path
):
    from api_requests import body, issue_key
    from service_fakes import FakeBureau, StepClock

    from scoring.api.app import create_app

    _approve_champion(uow_factory, registry, people, "1")
    runtime = Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=session_factory(migrated_engine),
        bureau=FakeBureau("good"),
        models=_provider(uow_factory, registry),
        policy=current_policy(),
        pseudonym_key=bytes(range(32)),
        clock=StepClock(),
    )
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        registry.aliases["champion"] = "2"
        runtime.models.refresh()  # what the poller does every few seconds

        answer = api.post("/v1/decisions", json=body(), headers=auth)
        ready = api.get("/readyz")
        metrics = api.get("/metrics").text

    assert answer.status_code == 201, answer.text
    assert answer.json()["model"]["version"] == "1"
    assert ready.status_code == 200
    assert ready.json()["champion"]["version"] == "1"
    assert ready.json()["model_registry"]["registry_alias"] == "2"
    assert ready.json()["model_registry"]["alias_moved_outside_product"] is True
    assert "installment_registry_alias_moved_outside_product_total 1.0" in metrics
    assert [e["action"] for e in _registry_audit(uow_factory)] == [
        "registry_alias_moved_outside_product"
    ]


def test_the_demo_mlflow_ui_listens_on_the_loopback_address_only(tmp_path):
    from scoring.cli.demo_setup import mlflow_ui_command

    command = mlflow_ui_command(load_settings({"INSTALLMENT_HOME": str(tmp_path)}))

    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert "0.0.0.0" not in command
