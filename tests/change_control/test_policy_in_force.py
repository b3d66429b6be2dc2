"""A policy takes effect exactly at its approved ``effective_from``; the oversight stop switch
sends every new application to a person at run time, recorded and audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from change_fakes import NOW

from scoring.domain.change_control import ChangeNotPermitted
from scoring.service import change_control as cc
from scoring.service import policy_in_force as pif
from scoring.service.policy_files import current_policy

START = current_policy()
NEXT = replace(START, version="2026.12.1", approve_below=0.08)


def _in_force(uow_factory, clock=lambda: NOW) -> pif.PolicyInForce:
    versions = {START.version: START, NEXT.version: NEXT}
    return pif.PolicyInForce(
        unit_of_work=uow_factory,
        clock=clock,
        start_policy=START,
        policy_for_version=versions.__getitem__,
    )


def _propose_next(uow_factory, people, effective_from):
    with uow_factory() as uow:
        return cc.propose_policy(
            uow=uow,
            actor=people["analyst"],
            policy=NEXT,
            effective_from=effective_from,
            policy_effective_date=None,
            reason="approve below 0.08 after the simulation",
            now=NOW,
        )


def test_an_approved_policy_takes_effect_exactly_at_its_effective_from(uow_factory, people):
    policies = _in_force(uow_factory)
    assert policies.at(NOW).version == START.version  # adopted at first start
    starts = NOW + timedelta(hours=6)
    change = _propose_next(uow_factory, people, starts)
    with uow_factory() as uow:
        cc.approve_change(
            uow=uow,
            registry=None,
            actor=people["approver"],
            change_id=change.id,
            note="simulation read",
            now=NOW,
        )

    policies.refresh()

    assert policies.at(starts - timedelta(microseconds=1)).version == START.version
    assert policies.at(starts).version == NEXT.version
    assert policies.at(starts).approve_below == 0.08
    assert policies.state(NOW)["next_policy"] == {
        "version": NEXT.version,
        "effective_from": starts.isoformat(),
    }


def test_a_proposed_policy_never_takes_effect_without_approval(uow_factory, people):
    policies = _in_force(uow_factory)
    _propose_next(uow_factory, people, NOW + timedelta(hours=1))

    policies.refresh()

    assert policies.at(NOW + timedelta(days=30)).version == START.version


def test_an_approval_after_the_date_has_passed_is_refused(uow_factory, people):
    change = _propose_next(uow_factory, people, NOW + timedelta(hours=1))
    with uow_factory() as uow, pytest.raises(cc.InvalidChange, match="has passed"):
        cc.approve_change(
            uow=uow,
            registry=None,
            actor=people["approver"],
            change_id=change.id,
            note="late",
            now=NOW + timedelta(hours=2),
        )


def test_the_stop_switch_sends_every_application_to_a_person_and_back(uow_factory, people):
    policies = _in_force(uow_factory)
    with uow_factory() as uow:
        pif.switch_automation(
            uow=uow,
            actor=people["oversight"],
            automated=False,
            reason="bureau data looks wrong since 9:00",
            now=NOW,
        )
    policies.refresh()

    assert policies.at(NOW).all_applications_to_manual_review is True
    assert policies.state(NOW)["automated_decisions"] is False
    assert policies.state(NOW)["switch_changed_by"] == "olga.oversight"

    with uow_factory() as uow:
        pif.switch_automation(
            uow=uow,
            actor=people["oversight"],
            automated=True,
            reason="bureau fixed its feed",
            now=NOW,
        )
    policies.refresh()
    assert policies.at(NOW).all_applications_to_manual_review is False

    with uow_factory() as uow:
        trail = uow.audit_log.entries_for(
            entity_type="automation_switch", entity_id="automated_decisions"
        )
    assert [(e.actor, e.action, e.details["reason"]) for e in trail] == [
        ("user:olga.oversight", "automation_stopped", "bureau data looks wrong since 9:00"),
        ("user:olga.oversight", "automation_resumed", "bureau fixed its feed"),
    ]


def test_only_the_oversight_role_turns_the_switch(uow_factory, people):
    with uow_factory() as uow, pytest.raises(ChangeNotPermitted, match="oversight role"):
        pif.switch_automation(
            uow=uow, actor=people["reviewer"], automated=False, reason="I would like to", now=NOW
        )
    with uow_factory() as uow:
        assert pif.automation_state(uow=uow).automated_decisions is True


def test_stopping_twice_is_refused_by_name(uow_factory, people):
    with uow_factory() as uow:
        pif.switch_automation(
            uow=uow, actor=people["oversight"], automated=False, reason="incident 42", now=NOW
        )
    with uow_factory() as uow, pytest.raises(pif.AutomationAlreadySet, match="stopped already"):
        pif.switch_automation(
            uow=uow, actor=people["oversight"], automated=False, reason="incident 42 again", now=NOW
        )
