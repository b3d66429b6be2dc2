"""A user's model goes back to its own previously approved champion through four eyes; its
gates are judged against the user's contract, and the product's champion is never touched.
Every model with an approved champion is listed, the product's first."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from change_fakes import NOW

from scoring.domain.change_control import ChangeNotPending, ChangeStatus, InvalidChange
from scoring.service import change_control as cc

USER_MODEL = "german-credit-pd"
CONTRACT = Path("/data/risk/german.odcs.yaml")


def _champion(uow_factory, registry, people, version, *, model=USER_MODEL, hours=0):
    at = NOW + timedelta(hours=hours)
    with uow_factory() as uow:
        change = cc.propose_champion(
            uow=uow, registry=registry, actor=people["analyst"], version=version,
            reason="beats the plain baselines", now=at, model_name=model,
        )  # fmt: skip
    with uow_factory() as uow:
        return cc.approve_change(
            uow=uow, registry=registry, actor=people["approver"], change_id=change.id,
            note="read the report", now=at,
        )  # fmt: skip


def _rollback(uow_factory, registry, actor, *, model=USER_MODEL, contract=CONTRACT, hours=3):
    with uow_factory() as uow:
        return cc.propose_rollback(
            uow=uow, registry=registry, actor=actor, reason="version 2 misbehaves on new data",
            now=NOW + timedelta(hours=hours), model_name=model, contract_file=contract,
        )  # fmt: skip


def _approve(uow_factory, registry, actor, change_id, *, hours=4):
    with uow_factory() as uow:
        return cc.approve_change(
            uow=uow, registry=registry, actor=actor, change_id=change_id,
            note="the previous version behaved", now=NOW + timedelta(hours=hours),
        )  # fmt: skip


@pytest.fixture
def two_user_champions(uow_factory, registry, people):
    """The product serves version 3; the user's model had version 1, then version 2."""
    _champion(uow_factory, registry, people, "3", model="installment-pd")
    _champion(uow_factory, registry, people, "1", hours=1)
    _champion(uow_factory, registry, people, "2", hours=2)
    assert registry.named_aliases[(USER_MODEL, "champion")] == "2"
    assert registry.aliases["champion"] == "3"


def test_a_users_model_rolls_back_to_its_previous_champion_and_the_product_is_untouched(
    two_user_champions, uow_factory, registry, people
):
    rollback = _rollback(uow_factory, registry, people["analyst"])

    assert (rollback.model, rollback.model_version, rollback.replaces_version) == (
        USER_MODEL,
        "1",
        "2",
    )
    assert rollback.subject == f"rollback of the champion to model {USER_MODEL} version 1"
    assert rollback.replaced == f"model {USER_MODEL} version 2"
    # Nothing moves before a second person approves.
    assert registry.named_aliases[(USER_MODEL, "champion")] == "2"

    approved = _approve(uow_factory, registry, people["approver2"], rollback.id)

    assert approved.status is ChangeStatus.APPROVED
    assert registry.named_aliases[(USER_MODEL, "champion")] == "1"
    assert registry.aliases["champion"] == "3"
    with uow_factory() as uow:
        served = cc.served_champion(uow=uow)
        champions = cc.approved_champions(uow=uow)
        trail = uow.audit_log.entries_for(entity_type="change_request", entity_id=str(rollback.id))
    assert served is not None and served.model_version == "3"
    assert [(c.model, c.model_version) for c in champions] == [
        ("installment-pd", "3"),
        (USER_MODEL, "1"),
    ]
    assert [(e.actor, e.action) for e in trail] == [
        ("user:anna.analyst", "rollback_proposed"),
        ("user:mari.approver", "rollback_approved"),
    ]
    assert {e.details["model"] for e in trail} == {USER_MODEL}


def test_the_rollbacks_gates_use_the_users_contract_without_comparing_with_the_champion(
    two_user_champions, uow_factory, registry, people
):
    # Version 1 is weaker than version 2: as a new champion it would be refused.
    registry.auc_ok["1"] = False
    rollback = _rollback(uow_factory, registry, people["analyst"])

    assert registry.gate_calls[-1] == {
        "version": "1", "champion": "2", "compare": False, "model": USER_MODEL,
        "contract": CONTRACT,
    }  # fmt: skip
    with uow_factory() as uow:
        _, gates, attachments = cc.change_details(uow=uow, change_id=rollback.id)
    assert [g["gate"] for g in gates] == ["calibration", "fairness"]
    assert attachments["contract"] == str(CONTRACT.resolve())
    assert attachments["previous_approval"] == 2


def test_a_failed_gate_is_recorded_for_the_approver_and_does_not_block_the_rollback(
    two_user_champions, uow_factory, registry, people
):
    registry.uncalibrated.add("1")
    rollback = _rollback(uow_factory, registry, people["analyst"])
    with uow_factory() as uow:
        _, gates, _ = cc.change_details(uow=uow, change_id=rollback.id)
    assert {g["gate"]: g["passed"] for g in gates} == {"calibration": False, "fairness": True}


def test_the_fairness_sign_off_of_the_version_shows_in_the_rollbacks_gates(
    uow_factory, registry, people
):
    registry.unjudged["1"] = ("foreign_worker",)
    with uow_factory() as uow:
        cc.sign_off_fairness(
            uow=uow, registry=registry, actor=people["approver"], version="1",
            reason="37 non-foreign workers; read their intervals", now=NOW,
            model_name=USER_MODEL,
        )  # fmt: skip
    _champion(uow_factory, registry, people, "1", hours=1)
    _champion(uow_factory, registry, people, "2", hours=2)

    rollback = _rollback(uow_factory, registry, people["analyst"])

    with uow_factory() as uow:
        _, gates, _ = cc.change_details(uow=uow, change_id=rollback.id)
    fairness = next(g for g in gates if g["gate"] == "fairness")
    assert fairness["passed"]
    assert "signed off by user:peeter.approver" in fairness["detail"]


def test_a_model_without_a_previous_champion_is_refused_by_name_and_nothing_is_recorded(
    uow_factory, registry, people
):
    # The product has a history to go back to; the user's model has one champion only.
    _champion(uow_factory, registry, people, "1", model="installment-pd")
    _champion(uow_factory, registry, people, "2", model="installment-pd", hours=1)
    _champion(uow_factory, registry, people, "1", hours=2)
    with uow_factory() as uow:
        before = len(cc.list_changes(uow=uow))

    with pytest.raises(
        InvalidChange,
        match=f"model {USER_MODEL} has no previously approved champion to roll back to",
    ):
        _rollback(uow_factory, registry, people["analyst"])
    with pytest.raises(InvalidChange, match="model never-trained has no previously approved"):
        _rollback(uow_factory, registry, people["analyst"], model="never-trained")

    with uow_factory() as uow:
        assert len(cc.list_changes(uow=uow)) == before
    assert registry.named_aliases[(USER_MODEL, "champion")] == "1"


def test_the_products_rollback_ignores_a_users_models_history(
    two_user_champions, uow_factory, registry, people
):
    with pytest.raises(InvalidChange, match="model installment-pd has no previously approved"):
        _rollback(uow_factory, registry, people["analyst"], model="installment-pd", contract=None)


def test_a_rollback_of_a_users_model_needs_a_second_person(
    two_user_champions, uow_factory, registry, people
):
    rollback = _rollback(uow_factory, registry, people["approver"])
    with pytest.raises(cc.ChangeNotPermitted, match="different person"):
        _approve(uow_factory, registry, people["approver"], rollback.id)
    assert registry.named_aliases[(USER_MODEL, "champion")] == "2"


def test_champions_and_changes_are_listed_per_model(
    two_user_champions, uow_factory, registry, people
):
    _champion(uow_factory, registry, people, "1", model="another-pd", hours=5)
    with uow_factory() as uow:
        everyone = cc.approved_champions(uow=uow)
        only_user = cc.approved_champions(uow=uow, model=USER_MODEL)
        users_changes = cc.list_changes(uow=uow, model=USER_MODEL)
        all_changes = cc.list_changes(uow=uow)

    assert [(c.model, c.model_version) for c in everyone] == [
        ("installment-pd", "3"),
        ("another-pd", "1"),
        (USER_MODEL, "2"),
    ]
    assert [(c.model, c.model_version) for c in only_user] == [(USER_MODEL, "2")]
    assert [c.model_version for c in users_changes] == ["2", "1"]
    assert len(all_changes) == 4


def test_a_rollback_is_refused_once_another_champion_took_over_and_nothing_moves(
    two_user_champions, uow_factory, registry, people
):
    rollback = _rollback(uow_factory, registry, people["analyst"])
    # Version 3 of the user's model is approved while the rollback from version 2 waits.
    _champion(uow_factory, registry, people, "3", hours=3)

    with pytest.raises(ChangeNotPending) as refused:
        _approve(uow_factory, registry, people["approver2"], rollback.id, hours=5)

    assert str(refused.value).startswith(
        f"change {rollback.id} was proposed when model {USER_MODEL} had version 2 as champion; "
        "its champion is version 3"
    )
    assert registry.named_aliases[(USER_MODEL, "champion")] == "3"
    with uow_factory() as uow:
        assert uow.change_requests.get(rollback.id).status is ChangeStatus.PROPOSED
