"""A unit of work with in-memory review cases, audit log and outbox: the review rules without SQL.

``FakeUnitOfWork`` hands out the same three things the real one does (``review_cases``,
``audit_log``, ``webhook_outbox``), holding unsaved ORM objects in dictionaries. The queue
order, the claimable condition and the conditional claim are imitated in Python; what
depends on the database itself (row locks, ``SKIP LOCKED``, two processes racing) is
tested on real databases in ``test_review_cases.py`` and ``test_concurrent_claims.py``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from scoring.domain import review as rules
from scoring.domain.review import Actor, CaseKind, CaseStatus, Role
from scoring.storage.tables import Application, Decision, Invoice, ReviewCase, User
from scoring.storage.tables_decisions import DecisionInput
from scoring.storage.tables_reviews import ReviewCaseProgress

SALES = "sales-system"
POLICY_VERSION = "2026.11.1"
STATEMENT = "I paid the two late invoices in full in October; please look at my payments again."


def _queue_order(case: ReviewCase) -> tuple[datetime, datetime, str]:
    return (case.extended_due_at or case.due_at, case.received_at, case.id)


class FakeReviewCases:
    """``ReviewCaseRepository`` over dictionaries."""

    def __init__(self) -> None:
        self.cases: dict[str, ReviewCase] = {}
        self.progress_rows: dict[str, ReviewCaseProgress] = {}
        self.decisions: dict[str, Decision] = {}
        self.skips: dict[tuple[str, int], datetime] = {}
        self.users: dict[int, User] = {}
        self.resulting_decisions: list[Decision] = []
        # Set to make the next conditional claim lose to another reviewer's.
        self.lose_next_claim = False

    # Loading and locking.

    def get(self, case_id: str) -> ReviewCase | None:
        return self.cases.get(case_id)

    def lock(self, case_id: str) -> ReviewCase | None:
        return self.cases.get(case_id)

    def lock_for_writing(self) -> None:
        pass

    def progress(self, case_id: str) -> ReviewCaseProgress | None:
        return self.progress_rows.get(case_id)

    def progress_for_change(self, case_id: str) -> ReviewCaseProgress:
        if case_id not in self.progress_rows:
            self.progress_rows[case_id] = ReviewCaseProgress(case_id=case_id, attachments=[])
        return self.progress_rows[case_id]

    def progress_of(self, cases: Sequence[ReviewCase]) -> dict[str, ReviewCaseProgress]:
        return {c.id: self.progress_rows[c.id] for c in cases if c.id in self.progress_rows}

    # Opening.

    def decision(self, decision_id: str) -> Decision | None:
        return self.decisions.get(decision_id)

    def contest_case_id(self, decision_id: str) -> str | None:
        return next(
            (
                c.id
                for c in self.cases.values()
                if c.decision_id == decision_id and c.kind == CaseKind.CONTEST.value
            ),
            None,
        )

    def open_case_of(self, decision_id: str) -> ReviewCase | None:
        return next(
            (
                c
                for c in self.cases.values()
                if c.decision_id == decision_id and c.status != CaseStatus.RESOLVED.value
            ),
            None,
        )

    def superseding_decision_id(self, decision_id: str) -> str | None:
        return next(
            (d.id for d in self.resulting_decisions if d.supersedes_decision_id == decision_id),
            None,
        )

    def add(self, case: ReviewCase, progress: ReviewCaseProgress) -> None:
        case.decision = self.decisions[case.decision_id]
        self.cases[case.id] = case
        self.progress_rows[case.id] = progress

    # The queue.

    def _sorted(self, cases: Iterable[ReviewCase]) -> list[ReviewCase]:
        return sorted(cases, key=_queue_order)

    def _open_or_lapsed(self, case: ReviewCase, now: datetime) -> bool:
        return case.status == CaseStatus.OPEN.value or (
            case.status == CaseStatus.CLAIMED.value
            and case.claimed_at < now - rules.CLAIM_IDLE_LIMIT
        )

    def _escalation_allows(self, case: ReviewCase, reviewer: Actor) -> bool:
        progress = self.progress_rows.get(case.id)
        escalated_by = progress.escalated_by if progress is not None else None
        if reviewer.role is Role.SENIOR_REVIEWER:
            return escalated_by != reviewer.user_id
        return escalated_by is None

    def _claimable(self, case: ReviewCase, reviewer: Actor, now: datetime) -> bool:
        skipped_until = self.skips.get((case.id, reviewer.user_id))
        return (
            self._open_or_lapsed(case, now)
            and not (skipped_until is not None and skipped_until > now)
            and self._escalation_allows(case, reviewer)
        )

    def held_by(self, user_id: int) -> list[ReviewCase]:
        return self._sorted(
            c
            for c in self.cases.values()
            if c.status == CaseStatus.CLAIMED.value and c.claimed_by == user_id
        )

    def claimable_for(self, reviewer: Actor, now: datetime) -> list[ReviewCase]:
        return self._sorted(c for c in self.cases.values() if self._claimable(c, reviewer, now))

    def next_claimable_for(self, reviewer: Actor, now: datetime) -> ReviewCase | None:
        return next(iter(self.claimable_for(reviewer, now)), None)

    def is_claimable_by(self, case_id: str, reviewer: Actor, now: datetime) -> bool:
        return self._claimable(self.cases[case_id], reviewer, now)

    def take_claim(self, case: ReviewCase, reviewer: Actor, now: datetime) -> bool:
        if self.lose_next_claim:
            self.lose_next_claim = False
            return False
        if not (self._open_or_lapsed(case, now) and self._escalation_allows(case, reviewer)):
            return False
        case.status = CaseStatus.CLAIMED.value
        case.claimed_by = reviewer.user_id
        case.claimed_at = now
        return True

    def skip(self, case_id: str, user_id: int, until: datetime) -> None:
        self.skips[(case_id, user_id)] = until

    def awaiting_signature_for(self, signer_id: int) -> list[ReviewCase]:
        return self._sorted(
            c
            for c in self.cases.values()
            if c.status == CaseStatus.AWAITING_SECOND_SIGNATURE.value
            and getattr(self.progress_rows.get(c.id), "decided_by", None) != signer_id
        )

    def overview(self, *, status: CaseStatus | None, limit: int) -> list[ReviewCase]:
        listed = self._sorted(
            c for c in self.cases.values() if status is None or c.status == status.value
        )
        return listed[:limit]

    # Outcomes and reads.

    def add_resulting_decision(self, decision: Decision) -> None:
        self.resulting_decisions.append(decision)

    def decision_inputs(self, decision_id: str) -> DecisionInput | None:
        return None

    def invoices_for(self, customer_id: int, *, since: date, until: date) -> list[Invoice]:
        return []

    def user(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    def with_outcomes(self) -> list[tuple[ReviewCase, Decision, User | None]]:
        return [
            (
                case,
                case.decision,
                self.users.get(getattr(self.progress_rows.get(case.id), "decided_by", None)),
            )
            for case in self.cases.values()
        ]


class FakeAuditLog:
    """The audit log as a list of entries, in the order they were appended."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.entries.append(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "details": dict(details or {}),
            }
        )

    def actions_for(self, case_id: str) -> list[str]:
        return [e["action"] for e in self.entries if e["entity_id"] == case_id]


class FakeOutbox:
    """The webhook outbox as a list of events; every client is subscribed once."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def enqueue(
        self,
        *,
        client_ids: Iterable[str],
        event_type: str,
        review_case_id: str | None,
        data: dict[str, Any],
        now: datetime,
        opens_case: bool = False,
    ) -> list[str]:
        ids = []
        for client_id in client_ids:
            event_id = str(uuid.uuid4())
            earlier = [
                e
                for e in self.events
                if e["client_id"] == client_id and e["review_case_id"] == review_case_id
            ]
            sequence = 1 if opens_case else len(earlier) + 1
            self.events.append(
                {
                    "id": event_id,
                    "client_id": client_id,
                    "type": event_type,
                    "review_case_id": review_case_id,
                    "data": {**data, "sequence": sequence},
                }
            )
            ids.append(event_id)
        return ids


class FakeUnitOfWork:
    """Commits by counting; the stores are shared by every use of the same fake."""

    def __init__(self) -> None:
        self.review_cases = FakeReviewCases()
        self.audit_log = FakeAuditLog()
        self.webhook_outbox = FakeOutbox()
        self.commits = 0
        self.rollbacks = 0

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.commits += 1
        else:
            self.rollbacks += 1

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1


_ids = itertools.count(1)


def person(uow: FakeUnitOfWork, username: str, role: Role) -> Actor:
    """A stored reviewer (or auditor) and the rules' view of them."""
    user_id = next(_ids)
    uow.review_cases.users[user_id] = User(id=user_id, username=username, role=role.value)
    return Actor(user_id=user_id, username=username, role=role)


def decision(
    uow: FakeUnitOfWork,
    *,
    decided_at: datetime,
    amount: float = 2400.0,
    outcome: str = "decline",
    automated: bool = True,
    client_id: str = SALES,
) -> str:
    """An automated decision of a client's application, contestable for 90 days; its id."""
    decision_id = str(uuid.uuid4())
    uow.review_cases.decisions[decision_id] = Decision(
        id=decision_id,
        application=Application(
            client_id=client_id,
            amount=Decimal(f"{amount:.2f}"),
            term_months=12,
            product_category="heat_pump",
        ),
        outcome=outcome,
        automated=automated,
        policy_version=POLICY_VERSION,
        reasons=[],
        decided_at=decided_at,
        contestable_until=decided_at + timedelta(days=90),
        supersedes_decision_id=None,
    )
    return decision_id


def open_case(
    uow: FakeUnitOfWork, *, received_at: datetime, amount: float = 2400.0, client_id: str = SALES
) -> str:
    """An open contest case of a fresh decision, received at ``received_at``; its id."""
    decision_id = decision(
        uow, decided_at=received_at - timedelta(days=1), amount=amount, client_id=client_id
    )
    case_id = str(uuid.uuid4())
    uow.review_cases.add(
        ReviewCase(
            id=case_id,
            decision_id=decision_id,
            kind=CaseKind.CONTEST.value,
            status=CaseStatus.OPEN.value,
            statement=STATEMENT,
            received_at=received_at,
            due_at=rules.case_due_at(received_at),
        ),
        ReviewCaseProgress(case_id=case_id, opened_by_client_id=client_id, attachments=[]),
    )
    return case_id
