"""The policy a decision is made under now, and the oversight stop switch (AI Act Art. 14(4)(e)).

The policy in force is the approved policy change whose ``effective_from`` is the latest
that has come; on a database with no policy recorded, the policy file in effect at start is
taken over once (audited). A person with the oversight role turns automated decisions off
and on (:func:`switch_automation`); while they are off every new application goes to a
person (the policy's ``all_applications_to_manual_review``, reason ``S04_AUTOMATION_PAUSED``),
which each decision records in its rules.

Every API process polls the record every ``poll_seconds`` (2 s) in a background thread, so a
switch or an approval reaches all of them within a few seconds without a restart. The
schedule of approved policies is kept, so a policy starts exactly at its ``effective_from``
by the clock of each decision, not at the next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any

from scoring.domain import change_control as rules
from scoring.domain.change_control import ChangeKind, ChangeNotPermitted, ChangeStatus
from scoring.domain.errors import ConflictError
from scoring.domain.permissions import Actor, may_switch_automation
from scoring.domain.policy import Policy
from scoring.service.polling import Poller
from scoring.storage.change_requests import SwitchState
from scoring.storage.db import UnitOfWork

logger = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 2.0
SWITCH_ENTITY = "automation_switch"
SYSTEM_ACTOR = "system:policy"


class AutomationAlreadySet(rules.ChangeControlError, ConflictError):
    """The stop switch is in the asked state already."""


def switch_automation(
    *, uow: UnitOfWork, actor: Actor, automated: bool | None, reason: str, now: datetime
) -> SwitchState:
    """Turn automated decisions off (``automated=False``) or back on, with a reason; audited."""
    if not may_switch_automation(actor):
        raise ChangeNotPermitted(
            f"{actor.username} ({actor.role.value}) may not stop or restart automated "
            "decisions; that needs the oversight role"
        )
    if automated is None:
        raise rules.InvalidChange("choose to stop or to restart automated decisions")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise rules.InvalidChange("give a reason of at least 5 characters")
    switches = uow.change_requests
    switches.take_turn()
    if switches.switch_state().automated_decisions == automated:
        raise AutomationAlreadySet(
            "automated decisions are " + ("on" if automated else "stopped") + " already"
        )
    switches.add_switch_event(
        automated_decisions=automated, changed_by=actor.user_id, changed_at=now, reason=reason
    )
    uow.audit_log.append(
        at=now,
        actor=actor.label,
        action="automation_resumed" if automated else "automation_stopped",
        entity_type=SWITCH_ENTITY,
        entity_id="automated_decisions",
        details={"automated_decisions": automated, "reason": reason},
    )
    return switches.switch_state()


def automation_state(*, uow: UnitOfWork) -> SwitchState:
    """The stop switch as last set."""
    return uow.change_requests.switch_state()


@dataclass(frozen=True)
class _Scheduled:
    effective_from: datetime
    policy: Policy
    change_id: int
    status: ChangeStatus


class PolicyInForce:
    """The policy of each decision: the approved schedule and the stop switch, polled."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        start_policy: Policy,
        policy_for_version: Callable[[str], Policy],
        follow_changes: bool = True,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self._start_policy = start_policy
        self._policy_for_version = policy_for_version
        self._follow_changes = follow_changes
        self.poll_seconds = poll_seconds
        self._schedule: tuple[_Scheduled, ...] = ()
        self._documents: dict[int, Policy] = {}
        self._switch = SwitchState(True, None, None, None)
        self._poller = Poller(self.refresh, seconds=poll_seconds, name="policy-in-force-poll")
        self.last_error: str | None = None
        self.refresh()

    def approved_at(self, now: datetime) -> Policy:
        """The approved policy in force at ``now`` (the stop switch not applied)."""
        policy = self._start_policy
        for scheduled in self._schedule:  # ascending; the last one due wins
            if scheduled.effective_from <= now:
                policy = scheduled.policy
        return policy

    def at(self, now: datetime) -> Policy:
        """The policy a decision made at ``now`` is made under (the switch applied)."""
        policy = self.approved_at(now)
        if not self._switch.automated_decisions:
            policy = replace(policy, all_applications_to_manual_review=True)
        return policy

    @property
    def automated_decisions(self) -> bool:
        return self._switch.automated_decisions

    def refresh(self) -> None:
        """Read the approved policies and the switch now (the poller calls this)."""
        try:
            with self._unit_of_work() as uow:
                switch = uow.change_requests.switch_state()
                schedule = self._read_schedule(uow) if self._follow_changes else ()
        except Exception as error:  # keep deciding under what was read last
            self.last_error = f"policy record: {type(error).__name__}: {error}"
            logger.warning("policy refresh failed; keeping the last state: %s", self.last_error)
            return
        if switch.automated_decisions != self._switch.automated_decisions:
            logger.warning(
                "automated decisions %s (changed at %s)",
                "resumed" if switch.automated_decisions else "STOPPED",
                switch.changed_at,
            )
        self._switch = switch
        self._schedule = schedule
        self.last_error = None

    def _read_schedule(self, uow: UnitOfWork) -> tuple[_Scheduled, ...]:
        changes = uow.change_requests.of_kinds([ChangeKind.POLICY])
        in_force = [
            c for c in changes if c.status in rules.IN_FORCE and c.effective_from is not None
        ]
        if not in_force:
            in_force = [self._adopt(uow)]
        scheduled = []
        for change in in_force:
            assert change.policy_version is not None and change.effective_from is not None
            policy = self._policy_of(uow, change)
            scheduled.append(_Scheduled(change.effective_from, policy, change.id, change.status))
        scheduled.sort(key=lambda s: (s.effective_from, s.change_id))
        return tuple(scheduled)

    def _policy_of(self, uow: UnitOfWork, change: rules.ChangeRecord) -> Policy:
        """The policy a change approved: its recorded document, else the versioned file."""
        assert change.policy_version is not None
        if change.policy_version == self._start_policy.version:
            return self._start_policy
        cached = self._documents.get(change.id)
        if cached is not None:
            return cached
        _, attachments = uow.change_requests.gates_and_attachments(change.id)
        document = attachments.get("policy_document")
        if isinstance(document, dict):
            policy = Policy.from_mapping(document)
        else:
            policy = self._policy_for_version(change.policy_version)
        self._documents[change.id] = policy
        return policy

    def _adopt(self, uow: UnitOfWork) -> rules.ChangeRecord:
        """Record the start policy as in force (first start on this database), audited."""
        uow.change_requests.take_turn()
        existing = [
            c
            for c in uow.change_requests.of_kinds([ChangeKind.POLICY])
            if c.status in rules.IN_FORCE
        ]
        if existing:
            return existing[-1]
        now = self._clock()
        day = self._start_policy.effective_from
        since = datetime.combine(day, time(0, 0), tzinfo=UTC) if day else now
        change = uow.change_requests.add(
            kind=ChangeKind.POLICY,
            status=ChangeStatus.ADOPTED,
            policy_version=self._start_policy.version,
            effective_from=min(since, now),
            proposed_at=now,
            decided_at=now,
            reason="the policy file in effect at first start; no policy was recorded",
        )
        uow.audit_log.append(
            at=now,
            actor=SYSTEM_ACTOR,
            action="policy_adopted_from_file",
            entity_type="change_request",
            entity_id=str(change.id),
            details={"kind": "policy", "policy_version": change.policy_version},
        )
        return change

    def state(self, now: datetime) -> dict[str, Any]:
        """What readiness reports: the policy in force, the next one, the stop switch."""
        current = None
        upcoming = None
        for scheduled in self._schedule:
            if scheduled.effective_from <= now:
                current = scheduled
            elif upcoming is None:
                upcoming = scheduled
        state: dict[str, Any] = {
            "policy_version": self.at(now).version,
            "policy_change": current.change_id if current else None,
            "automated_decisions": self._switch.automated_decisions,
        }
        if upcoming is not None:
            state["next_policy"] = {
                "version": upcoming.policy.version,
                "effective_from": upcoming.effective_from.isoformat(),
            }
        if self._switch.changed_at is not None:
            state["switch_changed_at"] = self._switch.changed_at.isoformat()
            state["switch_changed_by"] = self._switch.changed_by
        return state

    def start_polling(self) -> None:
        """Poll every ``poll_seconds`` in a daemon thread until ``close()``."""
        self._poller.start()

    def close(self) -> None:
        self._poller.stop()
