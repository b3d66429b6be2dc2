"""A user's model is promoted under its own name, never as the served champion; a fairness
gate with not enough data to judge passes only after a risk approver signs it off."""

from __future__ import annotations

import pytest
from change_fakes import NOW

from scoring.domain.change_control import ChangeNotPermitted, ChangeStatus
from scoring.service import change_control as cc

USER_MODEL = "german-credit-pd"


def _propose(uow_factory, registry, actor, version, *, model=USER_MODEL):
    with uow_factory() as uow:
        return cc.propose_champion(
            uow=uow, registry=registry, actor=actor, version=version,
            reason="beats the plain baselines on the same folds", now=NOW, model_name=model,
        )  # fmt: skip


def _sign_off(uow_factory, registry, actor, version, *, reason="read the group tables"):
    with uow_factory() as uow:
        return cc.sign_off_fairness(
            uow=uow, registry=registry, actor=actor, version=version, reason=reason, now=NOW,
            model_name=USER_MODEL,
        )  # fmt: skip


def test_a_users_model_is_proposed_and_approved_under_its_own_name(uow_factory, registry, people):
    change = _propose(uow_factory, registry, people["analyst"], "2")
    assert change.model == USER_MODEL
    assert change.subject == f"model {USER_MODEL} version 2 as champion"
    assert registry.gate_calls[-1]["version"] == "2"

    with uow_factory() as uow:
        approved = cc.approve_change(
            uow=uow, registry=registry, actor=people["approver"], change_id=change.id,
            note="read the report", now=NOW,
        )  # fmt: skip
        served = cc.served_champion(uow=uow)

    assert approved.status is ChangeStatus.APPROVED
    # The user's model has its champion alias; the product's served champion is untouched.
    assert registry.named_aliases[(USER_MODEL, "champion")] == "2"
    assert "champion" not in registry.aliases
    assert served is None


def test_the_same_version_number_of_two_models_are_two_changes(uow_factory, registry, people):
    first = _propose(uow_factory, registry, people["analyst"], "2")
    with uow_factory() as uow:
        cc.approve_change(
            uow=uow, registry=registry, actor=people["approver"], change_id=first.id,
            note="ok", now=NOW,
        )  # fmt: skip
    # Version 2 of the user's model is its champion; version 2 of installment-pd is not.
    product = _propose(uow_factory, registry, people["analyst"], "2", model="installment-pd")
    assert product.model == "installment-pd" and product.subject == "model version 2 as champion"


def test_not_enough_data_to_judge_fairness_refuses_the_proposal(uow_factory, registry, people):
    registry.unjudged["3"] = ("foreign_worker",)
    with pytest.raises(cc.ChangeGatesFailed, match="gate fairness failed .*not enough data"):
        _propose(uow_factory, registry, people["analyst"], "3")


def test_a_risk_approvers_sign_off_lets_the_proposal_through_and_is_audited(
    uow_factory, registry, people
):
    registry.unjudged["3"] = ("foreign_worker",)
    signed = _sign_off(
        uow_factory, registry, people["approver"], "3",
        reason="37 non-foreign workers; rates within their Wilson intervals",
    )  # fmt: skip
    assert signed == ("foreign_worker",)

    change = _propose(uow_factory, registry, people["analyst"], "3")
    with uow_factory() as uow:
        _, gates, _ = cc.change_details(uow=uow, change_id=change.id)
        trail = uow.audit_log.entries_for(entity_type="model_version", entity_id=f"{USER_MODEL}/3")
    fairness = next(g for g in gates if g["gate"] == "fairness")
    assert fairness["passed"]
    assert "signed off by user:peeter.approver" in fairness["detail"]
    assert "37 non-foreign workers" in fairness["detail"]
    assert [(e.actor, e.action) for e in trail] == [("user:peeter.approver", "fairness_signed_off")]
    assert trail[0].details["attributes"] == ["foreign_worker"]


def test_a_sign_off_covers_only_the_attributes_it_named(uow_factory, registry, people):
    registry.unjudged["3"] = ("foreign_worker",)
    _sign_off(uow_factory, registry, people["approver"], "3")
    registry.unjudged["3"] = ("foreign_worker", "age_band")
    with pytest.raises(cc.ChangeGatesFailed, match="gate fairness failed"):
        _propose(uow_factory, registry, people["analyst"], "3")


@pytest.mark.parametrize("role", ["analyst", "reviewer", "oversight"])
def test_only_a_risk_approver_signs_off_fairness(uow_factory, registry, people, role):
    registry.unjudged["3"] = ("foreign_worker",)
    with pytest.raises(ChangeNotPermitted, match="risk_approver"):
        _sign_off(uow_factory, registry, people[role], "3")


def test_a_gap_above_its_bound_cannot_be_signed_off(uow_factory, registry, people):
    registry.unfair.add("3")
    with pytest.raises(cc.FairnessSignOff, match="failed on figures.*cannot override"):
        _sign_off(uow_factory, registry, people["approver"], "3")


def test_a_gate_that_passes_needs_no_sign_off(uow_factory, registry, people):
    with pytest.raises(cc.FairnessSignOff, match="passes.*nothing to sign off"):
        _sign_off(uow_factory, registry, people["approver"], "2")


def test_a_sign_off_needs_a_reason(uow_factory, registry, people):
    registry.unjudged["3"] = ("foreign_worker",)
    with pytest.raises(Exception, match="reason of at least 5 characters"):
        _sign_off(uow_factory, registry, people["approver"], "3", reason="ok")
