"""Four eyes: a model change takes effect only after a second person approves it; a rollback
to the previously approved champion is never blocked by comparison gates; every step audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from change_fakes import NOW

from scoring.domain.change_control import (
    ChangeNotPending,
    ChangeNotPermitted,
    ChangeStatus,
    InvalidChange,
)
from scoring.service import change_control as cc
from scoring.service.policy_files import current_policy


def _served(uow_factory) -> str | None:
    with uow_factory() as uow:
        change = cc.served_champion(uow=uow)
    return change.model_version if change else None


def _propose(uow_factory, registry, actor, version, *, at=NOW):
    with uow_factory() as uow:
        return cc.propose_champion(
            uow=uow,
            registry=registry,
            actor=actor,
            version=version,
            reason="better calibrated on the 2026 applications",
            now=at,
        )


def _approve(uow_factory, registry, actor, change_id, *, at=NOW):
    with uow_factory() as uow:
        return cc.approve_change(
            uow=uow, registry=registry, actor=actor, change_id=change_id, note="checked", now=at
        )


def _audit(uow_factory, change_id: int) -> list[tuple[str, str]]:
    with uow_factory() as uow:
        entries = uow.audit_log.entries_for(entity_type="change_request", entity_id=str(change_id))
        return [(e.actor, e.action) for e in entries]


def _champion(uow_factory, registry, people, version, *, at=NOW):
    change = _propose(uow_factory, registry, people["analyst"], version, at=at)
    return _approve(uow_factory, registry, people["approver"], change.id, at=at)


def test_a_proposed_champion_does_not_take_effect_until_a_second_person_approves(
    uow_factory, registry, people
):
    change = _propose(uow_factory, registry, people["analyst"], "2")

    assert change.status is ChangeStatus.PROPOSED
    assert _served(uow_factory) is None
    assert "champion" not in registry.aliases

    approved = _approve(uow_factory, registry, people["approver"], change.id)

    assert approved.status is ChangeStatus.APPROVED
    assert (approved.proposed_by_name, approved.decided_by_name) == (
        "anna.analyst",
        "peeter.approver",
    )
    assert _served(uow_factory) == "2"
    assert registry.aliases["champion"] == "2"
    assert _audit(uow_factory, change.id) == [
        ("user:anna.analyst", "change_proposed"),
        ("user:peeter.approver", "change_approved"),
    ]


def test_the_proposer_cannot_approve_their_own_change(uow_factory, registry, people):
    change = _propose(uow_factory, registry, people["approver"], "2")

    with pytest.raises(ChangeNotPermitted, match="different person"):
        _approve(uow_factory, registry, people["approver"], change.id)

    assert _served(uow_factory) is None
    assert "champion" not in registry.aliases
    assert _audit(uow_factory, change.id) == [("user:peeter.approver", "change_proposed")]


@pytest.mark.parametrize("who", ["analyst", "reviewer", "oversight"])
def test_only_the_approver_role_approves(uow_factory, registry, people, who):
    change = _propose(uow_factory, registry, people["approver2"], "2")

    with pytest.raises(ChangeNotPermitted, match="risk_approver"):
        _approve(uow_factory, registry, people[who], change.id)
    assert _served(uow_factory) is None


def test_a_reviewer_cannot_propose(uow_factory, registry, people):
    with pytest.raises(ChangeNotPermitted, match="may not propose"):
        _propose(uow_factory, registry, people["reviewer"], "2")


def test_a_change_is_decided_once(uow_factory, registry, people):
    change = _propose(uow_factory, registry, people["analyst"], "2")
    with uow_factory() as uow:
        cc.refuse_change(
            uow=uow,
            actor=people["approver"],
            change_id=change.id,
            note="the simulation shows too many flips",
            now=NOW,
        )

    with pytest.raises(ChangeNotPending, match="refused already"):
        _approve(uow_factory, registry, people["approver2"], change.id)
    assert _served(uow_factory) is None
    assert _audit(uow_factory, change.id)[-1] == ("user:peeter.approver", "change_refused")


def test_a_version_failing_a_gate_is_refused_and_nothing_is_recorded(uow_factory, registry, people):
    registry.uncalibrated.add("3")

    with pytest.raises(cc.ChangeGatesFailed, match="gate calibration failed"):
        _propose(uow_factory, registry, people["analyst"], "3")

    with uow_factory() as uow:
        assert cc.list_changes(uow=uow) == []


@pytest.mark.parametrize(
    ("version", "message"),
    [("9", "unknown to the registry"), ("champion", "must be a number"), ("", "must be a number")],
)
def test_an_unknown_version_is_refused_by_name(uow_factory, registry, people, version, message):
    with pytest.raises(InvalidChange, match=message):
        _propose(uow_factory, registry, people["analyst"], version)


def test_a_change_without_a_reason_is_refused(uow_factory, registry, people):
    with uow_factory() as uow, pytest.raises(InvalidChange, match="reason"):
        cc.propose_champion(
            uow=uow, registry=registry, actor=people["analyst"], version="2", reason="  ", now=NOW
        )


def test_a_rollback_is_not_blocked_by_the_auc_gate_and_needs_four_eyes(
    uow_factory, registry, people
):
    _champion(uow_factory, registry, people, "1")
    _champion(uow_factory, registry, people, "2", at=NOW + timedelta(hours=1))
    # Version 1 is weaker than version 2: proposed as a new champion it would be refused.
    registry.auc_ok["1"] = False
    with pytest.raises(cc.ChangeGatesFailed, match="auc_vs_champion"):
        _propose(uow_factory, registry, people["analyst"], "1", at=NOW + timedelta(hours=2))

    with uow_factory() as uow:
        rollback = cc.propose_rollback(
            uow=uow,
            registry=registry,
            actor=people["analyst"],
            reason="version 2 misbehaves in production",
            now=NOW + timedelta(hours=2),
        )
    assert (rollback.model_version, rollback.replaces_version) == ("1", "2")
    assert registry.gate_calls[-1] == {
        "version": "1", "champion": "2", "compare": False, "model": "installment-pd",
        "contract": None,
    }  # fmt: skip
    assert _served(uow_factory) == "2"

    with pytest.raises(ChangeNotPermitted):
        _approve(uow_factory, registry, people["analyst"], rollback.id)
    _approve(uow_factory, registry, people["approver2"], rollback.id, at=NOW + timedelta(hours=3))

    assert _served(uow_factory) == "1"
    assert registry.aliases["champion"] == "1"
    assert [a for _, a in _audit(uow_factory, rollback.id)] == [
        "rollback_proposed",
        "rollback_approved",
    ]


def test_a_rollback_needs_a_previous_champion(uow_factory, registry, people):
    _champion(uow_factory, registry, people, "1")
    with uow_factory() as uow, pytest.raises(InvalidChange, match="no previously approved"):
        cc.propose_rollback(
            uow=uow, registry=registry, actor=people["analyst"], reason="roll back please", now=NOW
        )


def test_the_champion_is_not_proposed_again(uow_factory, registry, people):
    _champion(uow_factory, registry, people, "1")
    with pytest.raises(InvalidChange, match="champion already"):
        _propose(uow_factory, registry, people["analyst"], "1")


def test_a_policy_with_an_effective_date_in_the_past_is_refused(uow_factory, people):
    with uow_factory() as uow, pytest.raises(InvalidChange, match="in the past"):
        cc.propose_policy(
            uow=uow,
            actor=people["analyst"],
            policy=current_policy(),
            effective_from=NOW - timedelta(minutes=1),
            policy_effective_date=None,
            reason="new cut-offs",
            now=NOW,
        )
    with uow_factory() as uow:
        assert cc.list_changes(uow=uow) == []
