"""The review-case repository: every query of the review workflow, on both dialects.

The review service asks for cases by name (``claimable_for``, ``awaiting_signature_for``)
and never writes SQL itself. Locking differs per dialect and is decided here: a case is
changed holding its row (``SELECT ... FOR UPDATE`` on PostgreSQL) or the database write
lock (SQLite); the next case of the queue is picked with ``SKIP LOCKED`` on PostgreSQL,
and a claim is a conditional UPDATE whose row count says whether it won.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from scoring.domain.permissions import may_take_escalated
from scoring.domain.review import CLAIM_IDLE_LIMIT, Actor, CaseKind, CaseStatus
from scoring.storage.tables import Decision, Invoice, ReviewCase, User
from scoring.storage.tables_decisions import DecisionInput
from scoring.storage.tables_reviews import ReviewCaseProgress, ReviewSkip
from scoring.storage.write_turn import is_postgres, take_write_lock

# Oldest due first; escalated cases are those nearest their deadline, so they come first too.
_QUEUE_ORDER = (
    func.coalesce(ReviewCase.extended_due_at, ReviewCase.due_at),
    ReviewCase.received_at,
    ReviewCase.id,
)


def _open_or_lapsed(now: datetime) -> Any:
    """Open cases and claims idle past the limit (whose holder has lost them)."""
    return or_(
        ReviewCase.status == CaseStatus.OPEN.value,
        and_(
            ReviewCase.status == CaseStatus.CLAIMED.value,
            ReviewCase.claimed_at < now - CLAIM_IDLE_LIMIT,
        ),
    )


def _escalation_allows(reviewer: Actor) -> Any:
    """``rules.may_claim`` as SQL: escalated cases only for a senior who did not escalate them."""
    if may_take_escalated(reviewer):
        barred = ReviewCaseProgress.escalated_by == reviewer.user_id
    else:
        barred = ReviewCaseProgress.escalated_by.is_not(None)
    return ~exists().where(ReviewCaseProgress.case_id == ReviewCase.id, barred)


def _claimable(reviewer: Actor, now: datetime) -> Any:
    """Cases open to a reviewer: open ones and lapsed claims, minus those they skipped."""
    skipped = exists().where(
        ReviewSkip.case_id == ReviewCase.id,
        ReviewSkip.user_id == reviewer.user_id,
        ReviewSkip.until > now,
    )
    return and_(_open_or_lapsed(now), ~skipped, _escalation_allows(reviewer))


class ReviewCaseRepository:
    """Review cases with their progress rows and skips, and the records a case page reads."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Loading and locking.

    def get(self, case_id: str) -> ReviewCase | None:
        """A case by id, or None."""
        return self.session.get(ReviewCase, case_id)

    def lock(self, case_id: str) -> ReviewCase | None:
        """A case to change, holding its row (PostgreSQL) or the write lock (SQLite); fresh."""
        take_write_lock(self.session)
        query = select(ReviewCase).where(ReviewCase.id == case_id)
        case = self.session.scalar(query.with_for_update() if is_postgres(self.session) else query)
        if case is not None:
            self.session.refresh(case)
        return case

    def lock_for_writing(self) -> None:
        """Take the SQLite write lock before reads that a write will depend on (else no-op)."""
        take_write_lock(self.session)

    def progress(self, case_id: str) -> ReviewCaseProgress | None:
        """The case's progress row, if it has one."""
        return self.session.get(ReviewCaseProgress, case_id)

    def progress_for_change(self, case_id: str) -> ReviewCaseProgress:
        """The case's progress row, added now if the case has none yet."""
        progress = self.session.get(ReviewCaseProgress, case_id)
        if progress is None:
            # Cases the decision service opened have no progress row until first touched.
            progress = ReviewCaseProgress(case_id=case_id, attachments=[])
            self.session.add(progress)
        return progress

    def progress_of(self, cases: Sequence[ReviewCase]) -> dict[str, ReviewCaseProgress]:
        """The progress rows of several cases, by case id."""
        ids = [c.id for c in cases]
        if not ids:
            return {}
        return {
            p.case_id: p
            for p in self.session.scalars(
                select(ReviewCaseProgress).where(ReviewCaseProgress.case_id.in_(ids))
            )
        }

    # Opening.

    def decision(self, decision_id: str) -> Decision | None:
        """The decision a case is (to be) about."""
        return self.session.get(Decision, decision_id)

    def contest_case_id(self, decision_id: str) -> str | None:
        """The id of the decision's contest case, if it has one."""
        return self.session.scalar(
            select(ReviewCase.id).where(
                ReviewCase.decision_id == decision_id, ReviewCase.kind == CaseKind.CONTEST.value
            )
        )

    def open_case_of(self, decision_id: str) -> ReviewCase | None:
        """The decision's case that is not resolved yet, if it has one."""
        return self.session.scalar(
            select(ReviewCase)
            .where(
                ReviewCase.decision_id == decision_id,
                ReviewCase.status != CaseStatus.RESOLVED.value,
            )
            .limit(1)
        )

    def superseding_decision_id(self, decision_id: str) -> str | None:
        """The id of the decision a person made in place of this one, if any."""
        return self.session.scalar(
            select(Decision.id).where(Decision.supersedes_decision_id == decision_id).limit(1)
        )

    def add(self, case: ReviewCase, progress: ReviewCaseProgress) -> None:
        """Store a new case and its progress row."""
        self.session.add(case)
        self.session.flush()
        self.session.add(progress)
        self.session.flush()

    # The queue.

    def exist(self) -> bool:
        """Whether any review case exists."""
        return self.session.scalar(select(ReviewCase.id).limit(1)) is not None

    def held_by(self, user_id: int) -> list[ReviewCase]:
        """The cases a reviewer holds, oldest due first."""
        return list(
            self.session.scalars(
                select(ReviewCase)
                .where(
                    ReviewCase.status == CaseStatus.CLAIMED.value,
                    ReviewCase.claimed_by == user_id,
                )
                .order_by(*_QUEUE_ORDER)
            )
        )

    def claimable_for(self, reviewer: Actor, now: datetime) -> list[ReviewCase]:
        """The cases a reviewer may claim now, oldest due first."""
        return list(
            self.session.scalars(
                select(ReviewCase).where(_claimable(reviewer, now)).order_by(*_QUEUE_ORDER)
            )
        )

    def next_claimable_for(self, reviewer: Actor, now: datetime) -> ReviewCase | None:
        """The first case of ``claimable_for``, locked; PostgreSQL skips rows others hold."""
        take_write_lock(self.session)
        query = select(ReviewCase).where(_claimable(reviewer, now)).order_by(*_QUEUE_ORDER).limit(1)
        if is_postgres(self.session):
            query = query.with_for_update(skip_locked=True, of=ReviewCase)
        return self.session.scalars(query).first()

    def is_claimable_by(self, case_id: str, reviewer: Actor, now: datetime) -> bool:
        """Whether ``claimable_for`` would list the case."""
        return bool(
            self.session.scalar(
                select(func.count()).where(ReviewCase.id == case_id, _claimable(reviewer, now))
            )
        )

    def take_claim(self, case: ReviewCase, reviewer: Actor, now: datetime) -> bool:
        """Give the case to the reviewer unless someone got there first; False if they did."""
        # The guard repeats the claimable condition: the row count proves nobody got there first.
        # (An UPDATE's result is a CursorResult; the stubs type Session.execute more widely.)
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            update(ReviewCase)
            .where(ReviewCase.id == case.id, _open_or_lapsed(now), _escalation_allows(reviewer))
            .values(status=CaseStatus.CLAIMED.value, claimed_by=reviewer.user_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        self.session.refresh(case)
        return True

    def skip(self, case_id: str, user_id: int, until: datetime) -> None:
        """Do not offer the case to the reviewer again before ``until``."""
        skip = self.session.get(ReviewSkip, (case_id, user_id))
        if skip is None:
            self.session.add(ReviewSkip(case_id=case_id, user_id=user_id, until=until))
        else:
            skip.until = until

    def awaiting_signature_for(self, signer_id: int) -> list[ReviewCase]:
        """Proposals awaiting a second signature that the signer did not make, oldest due first."""
        return list(
            self.session.scalars(
                select(ReviewCase)
                .join(ReviewCaseProgress, ReviewCaseProgress.case_id == ReviewCase.id, isouter=True)
                .where(
                    ReviewCase.status == CaseStatus.AWAITING_SECOND_SIGNATURE.value,
                    or_(
                        ReviewCaseProgress.decided_by.is_(None),
                        ReviewCaseProgress.decided_by != signer_id,
                    ),
                )
                .order_by(*_QUEUE_ORDER)
            )
        )

    def overview(self, *, status: CaseStatus | None, limit: int) -> list[ReviewCase]:
        """All cases (or those in one status), oldest due first."""
        query = select(ReviewCase).order_by(*_QUEUE_ORDER).limit(limit)
        if status is not None:
            query = query.where(ReviewCase.status == status.value)
        return list(self.session.scalars(query))

    # Outcomes.

    def add_resulting_decision(self, decision: Decision) -> None:
        """Store the decision a review made."""
        self.session.add(decision)
        self.session.flush()

    # What the case page reads.

    def decision_inputs(self, decision_id: str) -> DecisionInput | None:
        """The features and base value the model saw for a decision."""
        return self.session.get(DecisionInput, decision_id)

    def invoices_for(self, customer_id: int, *, since: date, until: date) -> list[Invoice]:
        """The customer's invoices issued in the period, latest due first."""
        return list(
            self.session.scalars(
                select(Invoice)
                .where(
                    Invoice.customer_id == customer_id,
                    Invoice.issued_on >= since,
                    Invoice.issued_on <= until,
                )
                .order_by(Invoice.due_on.desc())
            )
        )

    def user(self, user_id: int) -> User | None:
        """A reviewer by id."""
        return self.session.get(User, user_id)

    # Oversight.

    def with_outcomes(self) -> list[tuple[ReviewCase, Decision, User | None]]:
        """Every case with its original decision and the reviewer who decided it, if any."""
        rows = self.session.execute(
            select(ReviewCase, ReviewCaseProgress, Decision, User)
            .join(ReviewCaseProgress, ReviewCaseProgress.case_id == ReviewCase.id, isouter=True)
            .join(Decision, Decision.id == ReviewCase.decision_id)
            .join(User, User.id == ReviewCaseProgress.decided_by, isouter=True)
        ).all()
        return [(case, decision, user) for case, _progress, decision, user in rows]
