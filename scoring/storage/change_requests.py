"""Change requests and the automation switch: every statement change control needs.

Rows leave this module as the domain's ``ChangeRecord`` (with the people's usernames), so
services never hold an ORM object. A decision on a change locks its row (``FOR UPDATE`` on
PostgreSQL, the write lock on SQLite), so two approvers cannot both decide one change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, aliased

from scoring.domain.change_control import ChangeKind, ChangeRecord, ChangeStatus
from scoring.storage.tables import User
from scoring.storage.tables_change_control import AutomationSwitchEvent, ChangeRequest
from scoring.storage.write_turn import is_postgres, take_write_lock

# Any fixed number distinct from the other advisory locks: first-start adoption takes turns.
_POSTGRES_CHANGE_LOCK = 7_245_123


@dataclass(frozen=True)
class SwitchState:
    """The stop switch as last set: automated decisions on or off, by whom, when, why."""

    automated_decisions: bool
    changed_by: str | None
    changed_at: datetime | None
    reason: str | None


class ChangeRequests:
    """The change requests and switch events of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _records(self, where: Sequence[Any] = ()) -> list[ChangeRecord]:
        proposer = aliased(User)
        decider = aliased(User)
        rows = self.session.execute(
            select(ChangeRequest, proposer.username, decider.username)
            .outerjoin(proposer, proposer.id == ChangeRequest.proposed_by)
            .outerjoin(decider, decider.id == ChangeRequest.decided_by)
            .where(*where)
            .order_by(ChangeRequest.id)
        ).all()
        return [
            _record(row, proposer_name, decider_name) for row, proposer_name, decider_name in rows
        ]

    def all(self) -> list[ChangeRecord]:
        """Every change request, oldest first."""
        return self._records()

    def of_kinds(self, kinds: Sequence[ChangeKind]) -> list[ChangeRecord]:
        """The change requests of these kinds, oldest first."""
        return self._records([ChangeRequest.kind.in_([k.value for k in kinds])])

    def get(self, change_id: int) -> ChangeRecord | None:
        """One change request, or None."""
        found = self._records([ChangeRequest.id == change_id])
        return found[0] if found else None

    def lock(self, change_id: int) -> ChangeRecord | None:
        """One change request, locked until the transaction ends (its decision's turn)."""
        if is_postgres(self.session):
            self.session.execute(
                select(ChangeRequest.id).where(ChangeRequest.id == change_id).with_for_update()
            )
        else:
            take_write_lock(self.session)
        return self.get(change_id)

    def take_turn(self) -> None:
        """Serialise writers that check, then add (first-start adoption)."""
        if is_postgres(self.session):
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _POSTGRES_CHANGE_LOCK}
            )
        else:
            take_write_lock(self.session)

    def add(
        self,
        *,
        kind: ChangeKind,
        status: ChangeStatus,
        proposed_at: datetime,
        reason: str,
        proposed_by: int | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        policy_version: str | None = None,
        effective_from: datetime | None = None,
        replaces_version: str | None = None,
        gates: Sequence[Mapping[str, Any]] = (),
        attachments: Mapping[str, Any] | None = None,
        decided_at: datetime | None = None,
    ) -> ChangeRecord:
        """Record a change request (proposed, or adopted at first start)."""
        row = ChangeRequest(
            kind=kind.value,
            status=status.value,
            model_name=model_name,
            model_version=model_version,
            policy_version=policy_version,
            effective_from=effective_from,
            replaces_version=replaces_version,
            proposed_by=proposed_by,
            proposed_at=proposed_at,
            reason=reason,
            gates=[dict(g) for g in gates],
            attachments=dict(attachments or {}),
            decided_at=decided_at,
        )
        self.session.add(row)
        self.session.flush()
        record = self.get(row.id)
        assert record is not None
        return record

    def decide(
        self,
        change_id: int,
        *,
        status: ChangeStatus,
        decided_by: int,
        decided_at: datetime,
        note: str,
    ) -> ChangeRecord:
        """Record the approval or refusal of a (locked) change."""
        row = self.session.get(ChangeRequest, change_id)
        assert row is not None
        row.status = status.value
        row.decided_by = decided_by
        row.decided_at = decided_at
        row.decision_note = note
        self.session.flush()
        record = self.get(change_id)
        assert record is not None
        return record

    def gates_and_attachments(self, change_id: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The gate results and attachments recorded with a change."""
        row = self.session.get(ChangeRequest, change_id)
        if row is None:
            return [], {}
        return list(row.gates or []), dict(row.attachments or {})

    def switch_state(self) -> SwitchState:
        """The stop switch as last set; automated decisions are on when it was never turned."""
        row = self.session.execute(
            select(AutomationSwitchEvent, User.username)
            .join(User, User.id == AutomationSwitchEvent.changed_by)
            .order_by(AutomationSwitchEvent.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return SwitchState(True, None, None, None)
        event, username = row
        return SwitchState(event.automated_decisions, username, event.changed_at, event.reason)

    def add_switch_event(
        self, *, automated_decisions: bool, changed_by: int, changed_at: datetime, reason: str
    ) -> None:
        """Record one turn of the stop switch."""
        self.session.add(
            AutomationSwitchEvent(
                automated_decisions=automated_decisions,
                changed_by=changed_by,
                changed_at=changed_at,
                reason=reason,
            )
        )
        self.session.flush()


def _record(row: ChangeRequest, proposer: str | None, decider: str | None) -> ChangeRecord:
    return ChangeRecord(
        id=row.id,
        kind=ChangeKind(row.kind),
        status=ChangeStatus(row.status),
        model_version=row.model_version,
        model_name=row.model_name,
        policy_version=row.policy_version,
        effective_from=row.effective_from,
        proposed_by=row.proposed_by,
        proposed_by_name=proposer,
        proposed_at=row.proposed_at,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_by_name=decider,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        replaces_version=row.replaces_version,
    )
