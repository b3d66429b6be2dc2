"""Contested decisions: review cases, the reviewer queue, outcomes, extensions and oversight.

Every function that changes a case takes a unit of work and a clock, checks the rules of
``scoring.domain.review`` before it writes, and records the change in the hash-chained
audit log as the last write of its transaction. The API routes, the reviewer pages and
the CLI call these functions and nothing below them.

Two reviewers can never hold the same case: on PostgreSQL the next case is picked with
``SELECT ... FOR UPDATE SKIP LOCKED``; on SQLite each claim first takes the database
write lock. Either way the claim itself is a conditional UPDATE whose row count is checked.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from scoring.domain import review as rules
from scoring.domain.bureau import BUREAU_NAME, RISK_CLASSES
from scoring.domain.decision_record import RECORDED_COLUMNS, decision_record
from scoring.domain.identifiers import time_ordered_uuid
from scoring.domain.review import (
    Actor,
    CaseKind,
    CaseStatus,
    Escalation,
    NewTerms,
    ReviewOutcome,
    Role,
)
from scoring.letters.review import (
    ExtensionNotice,
    ReviewOutcomeLetter,
    render_extension_notice,
    render_review_outcome_letter,
)
from scoring.service import audit, decision_log, webhooks
from scoring.service.errors import (
    AlreadyContested,
    DecisionNotFound,
    InvalidContest,
    NotContestable,
    ReviewNotFound,
)
from scoring.service.policy_files import policy_for_version
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import (
    Application,
    AuditLogEntry,
    BureauReport,
    Customer,
    Decision,
    Invoice,
    ReviewCase,
    User,
)
from scoring.storage.tables_decisions import DecisionInput
from scoring.storage.tables_reviews import ReviewCaseProgress, ReviewSkip
from scoring.storage.write_turn import is_postgres, take_write_lock

Clock = Callable[[], datetime]
# A customer with fewer months of history than this is outside what the model learnt well.
SHORT_HISTORY_MONTHS = 6
# A bureau report older than this at the time of the application is flagged as stale.
STALE_BUREAU_REPORT = timedelta(days=30)
# The model's inputs taken from the application or computed from its instalment, named as
# in models.features.APPLICATION_FEATURES (a test keeps the two equal).
APPLICATION_FEATURES = (
    "amount_eur",
    "term_months",
    "monthly_instalment_eur",
    "instalment_to_avg_invoice",
    "product_category_code",
)
ENTITY = "review_case"


def utc_now() -> datetime:
    return datetime.now(UTC)


# What callers get back: plain values, never ORM objects.


@dataclass(frozen=True)
class ReviewCaseView:
    """One case as the queue, the API and the case page show it."""

    id: str
    decision_id: str
    kind: CaseKind
    status: CaseStatus
    statement: str | None
    received_at: datetime
    due_at: datetime
    extended_due_at: datetime | None
    extension_reason: str | None
    escalation: Escalation | None
    claimed_by: int | None
    claimed_at: datetime | None
    outcome: ReviewOutcome | None
    justification: str | None
    decided_by: int | None
    new_terms: NewTerms | None
    second_signature_by: int | None
    resolved_at: datetime | None
    resulting_decision_id: str | None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # Escalated by its holder to the senior reviewers (not the deadline flag ``escalation``).
    escalated_by: int | None = None
    escalated_at: datetime | None = None
    escalation_note: str | None = None

    @property
    def effective_due_at(self) -> datetime:
        return self.extended_due_at or self.due_at

    @property
    def due_on(self) -> date:
        """The last calendar day (in Estonia) to answer."""
        return rules.local_day(self.effective_due_at)


@dataclass(frozen=True)
class Attachment:
    """Metadata of a file the customer attached; the file itself is not kept here."""

    name: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True)
class SourcedValue:
    """One input the model saw, with where it came from, when, and any quality flags."""

    name: str
    value: Any
    source: str
    as_of: date | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseDetail:
    """Everything the case page needs, in the order a careful reviewer reads it."""

    case: ReviewCaseView
    statement: str | None
    attachments: list[dict[str, Any]]
    decision_outcome: str
    decision_automated: bool
    decided_at: datetime
    application: list[SourcedValue]
    # The model's inputs computed from the application (amount, term, instalment, product).
    application_features: list[SourcedValue]
    payment_history: list[SourcedValue]
    invoices: list[dict[str, Any]]
    bureau: list[SourcedValue]
    bureau_class: str | None
    bureau_class_definition_et: str | None
    bureau_class_definition_en: str | None
    probability_of_default: float | None
    risk_grade: str | None
    model: str | None
    known_limits: list[str]
    reasons: list[dict[str, Any]]
    base_value: float | None
    contributions: list[tuple[str, float]]
    counterfactual: dict[str, Any] | None
    policy_rules: list[dict[str, Any]]
    policy_version: str
    second_signature_required: bool
    second_signature_above_eur: float
    audit_trail: list[AuditEvent]
    escalated_by_username: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ClientReview:
    """A case as the sales system sees it: status, outcome and the customer's letters."""

    case: ReviewCaseView
    resulting_outcome: str | None
    letter_et: str | None
    letter_en: str | None
    extension_notice_et: str | None
    extension_notice_en: str | None


@dataclass(frozen=True)
class RateRow:
    key: str
    cases: int
    upheld: int
    overturned: int
    terms_changed: int

    @property
    def overturn_rate(self) -> float:
        """Share of cases where the review changed the outcome (overturned or new terms)."""
        return (self.overturned + self.terms_changed) / self.cases if self.cases else 0.0

    @property
    def agreement_rate(self) -> float:
        """Share of cases where the reviewer agreed with the automated outcome."""
        return self.upheld / self.cases if self.cases else 0.0


@dataclass(frozen=True)
class OversightStats:
    """Overturn and agreement rates, and time to resolution against the deadlines."""

    resolved: int
    per_reviewer: list[RateRow]
    per_reason_code: list[RateRow]
    median_days_to_resolution: float | None
    resolved_on_time: int
    resolved_late: int
    open_cases: int
    open_overdue: int
    open_near_due: int
    extended: int


# Helpers shared by the functions below.


def reviewer_from_user(user: User) -> Actor:
    """The rules' view of a stored user."""
    return Actor(user_id=user.id, username=user.username, role=Role(user.role))


def _progress(session: Session, case_id: str) -> ReviewCaseProgress:
    progress = session.get(ReviewCaseProgress, case_id)
    if progress is None:
        # Cases the decision service opened have no progress row until first touched.
        progress = ReviewCaseProgress(case_id=case_id, attachments=[])
        session.add(progress)
    return progress


def _view(case: ReviewCase, progress: ReviewCaseProgress | None, now: datetime) -> ReviewCaseView:
    status = CaseStatus(case.status)
    due = case.extended_due_at or case.due_at
    new_terms = None
    if progress is not None and progress.new_amount_eur is not None:
        new_terms = NewTerms(float(progress.new_amount_eur), int(progress.new_term_months or 0))
    return ReviewCaseView(
        id=case.id,
        decision_id=case.decision_id,
        kind=CaseKind(case.kind),
        status=status,
        statement=case.statement,
        received_at=case.received_at,
        due_at=case.due_at,
        extended_due_at=case.extended_due_at,
        extension_reason=case.extension_reason,
        escalation=None if status is CaseStatus.RESOLVED else rules.escalation(due, now=now),
        claimed_by=case.claimed_by,
        claimed_at=case.claimed_at,
        outcome=ReviewOutcome(case.outcome) if case.outcome else None,
        justification=case.justification,
        decided_by=progress.decided_by if progress else None,
        new_terms=new_terms,
        second_signature_by=case.second_signature_by,
        resolved_at=case.resolved_at,
        resulting_decision_id=case.resulting_decision_id,
        attachments=list(progress.attachments) if progress else [],
        escalated_by=progress.escalated_by if progress else None,
        escalated_at=progress.escalated_at if progress else None,
        escalation_note=progress.escalation_note if progress else None,
    )


def _load_case(session: Session, case_id: str) -> ReviewCase:
    case = session.get(ReviewCase, case_id)
    if case is None:
        raise ReviewNotFound(f"no review case {case_id}")
    return case


def _lock_case(session: Session, case_id: str) -> ReviewCase:
    """Load a case for changing it, holding its row (PostgreSQL) or the write lock (SQLite)."""
    take_write_lock(session)
    case = session.scalar(
        select(ReviewCase).where(ReviewCase.id == case_id).with_for_update()
        if is_postgres(session)
        else select(ReviewCase).where(ReviewCase.id == case_id)
    )
    if case is None:
        raise ReviewNotFound(f"no review case {case_id}")
    session.refresh(case)
    return case


def _record(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    case_id: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    audit.append(
        session=session,
        at=now,
        actor=actor,
        action=action,
        entity_type=ENTITY,
        entity_id=case_id,
        details=details,
    )


def _require_holder(case: ReviewCase, reviewer: Actor, action: str) -> None:
    rules.require_worker(reviewer, action)
    if case.status != CaseStatus.CLAIMED or case.claimed_by != reviewer.user_id:
        raise rules.WrongState(
            f"{reviewer.username} does not hold case {case.id}; claim it before you {action}"
        )


# Opening cases.


def contest_decision(
    *,
    uow: UnitOfWork,
    decision_id: str,
    client: str | None,
    statement: str,
    attachments: Sequence[Attachment] = (),
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """Open a contest case for an automated decision, due one month after receipt."""
    try:
        statement = rules.check_statement(statement)
    except rules.InvalidInput as error:
        raise InvalidContest(str(error), field="statement") from None
    for attachment in attachments:
        if not attachment.name.strip() or attachment.size_bytes < 0:
            raise InvalidContest(
                "each attachment needs a name and a non-negative size", field="attachments"
            )
    now = clock()
    with uow:
        session = uow.session
        take_write_lock(session)
        decision = session.get(Decision, decision_id)
        if decision is None or (client is not None and decision.application.client_id != client):
            raise DecisionNotFound(f"no decision {decision_id}")
        if decision.supersedes_decision_id is not None or not decision.automated:
            raise NotContestable(
                f"decision {decision_id} was made by a person; it is not an automated decision "
                "and cannot be contested here"
            )
        if decision.contestable_until is not None and now > decision.contestable_until:
            raise NotContestable(
                f"decision {decision_id} could be contested until "
                f"{decision.contestable_until.date().isoformat()}"
            )
        existing = session.scalar(
            select(ReviewCase.id).where(
                ReviewCase.decision_id == decision_id, ReviewCase.kind == CaseKind.CONTEST.value
            )
        )
        if existing is not None:
            raise AlreadyContested(
                f"decision {decision_id} is already contested (review {existing})"
            )
        case = _new_case(
            session,
            decision_id=decision_id,
            kind=CaseKind.CONTEST,
            statement=statement,
            now=now,
            client=client,
            attachments=[vars(a) for a in attachments],
        )
        view = _view(case, _progress(session, case.id), now)
        _record(
            session,
            now=now,
            actor=f"client:{client}" if client else "system",
            action="case_opened",
            case_id=case.id,
            details={
                "kind": CaseKind.CONTEST.value,
                "decision_id": decision_id,
                "due_at": case.due_at,
                "attachments": len(attachments),
            },
        )
    return view


def _new_case(
    session: Session,
    *,
    decision_id: str,
    kind: CaseKind,
    statement: str | None,
    now: datetime,
    client: str | None,
    attachments: list[dict[str, Any]],
) -> ReviewCase:
    case = ReviewCase(
        id=str(uuid.uuid4()),
        decision_id=decision_id,
        kind=kind.value,
        status=CaseStatus.OPEN.value,
        statement=statement,
        received_at=now,
        due_at=rules.case_due_at(now),
    )
    session.add(case)
    session.flush()
    session.add(
        ReviewCaseProgress(case_id=case.id, opened_by_client_id=client, attachments=attachments)
    )
    session.flush()
    return case


def open_case_for_pending_decision(
    *,
    session: Session,
    decision_id: str,
    kind: CaseKind,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """Open the case for a decision sent to a person (requested review or an objection).

    Runs inside the caller's transaction, so the decision and its case are stored together.
    """
    if kind is CaseKind.CONTEST:
        raise ValueError("contest cases are opened by contest_decision")
    now = clock()
    case = _new_case(
        session,
        decision_id=decision_id,
        kind=kind,
        statement=None,
        now=now,
        client=None,
        attachments=[],
    )
    view = _view(case, _progress(session, case.id), now)
    _record(
        session,
        now=now,
        actor="system",
        action="case_opened",
        case_id=case.id,
        details={"kind": kind.value, "decision_id": decision_id, "due_at": case.due_at},
    )
    return view


# The queue.


def _claimable(reviewer: Actor, now: datetime) -> Any:
    """Cases open to a reviewer: open ones and lapsed claims, minus those they skipped."""
    lapsed = now - rules.CLAIM_IDLE_LIMIT
    skipped = exists().where(
        ReviewSkip.case_id == ReviewCase.id,
        ReviewSkip.user_id == reviewer.user_id,
        ReviewSkip.until > now,
    )
    return and_(
        or_(
            ReviewCase.status == CaseStatus.OPEN.value,
            and_(ReviewCase.status == CaseStatus.CLAIMED.value, ReviewCase.claimed_at < lapsed),
        ),
        ~skipped,
        _escalation_allows(reviewer),
    )


def _escalation_allows(reviewer: Actor) -> Any:
    """``rules.may_claim`` as SQL: escalated cases only for a senior who did not escalate them."""
    if reviewer.role is Role.SENIOR_REVIEWER:
        barred = ReviewCaseProgress.escalated_by == reviewer.user_id
    else:
        barred = ReviewCaseProgress.escalated_by.is_not(None)
    return ~exists().where(ReviewCaseProgress.case_id == ReviewCase.id, barred)


# Oldest due first; escalated cases are those nearest their deadline, so they come first too.
_QUEUE_ORDER = (
    func.coalesce(ReviewCase.extended_due_at, ReviewCase.due_at),
    ReviewCase.received_at,
    ReviewCase.id,
)


def queue_for(*, session: Session, reviewer: Actor, now: datetime) -> list[ReviewCaseView]:
    """The cases a reviewer holds, then those they may claim, each group oldest due first."""
    if not rules.may_work_cases(reviewer):
        return []
    held = session.scalars(
        select(ReviewCase)
        .where(
            ReviewCase.status == CaseStatus.CLAIMED.value,
            ReviewCase.claimed_by == reviewer.user_id,
        )
        .order_by(*_QUEUE_ORDER)
    ).all()
    claimable = session.scalars(
        select(ReviewCase).where(_claimable(reviewer, now)).order_by(*_QUEUE_ORDER)
    ).all()
    cases = list(held) + [c for c in claimable if c.claimed_by != reviewer.user_id]
    return _views(session, cases, now)


def awaiting_signature_for(
    *, session: Session, reviewer: Actor, now: datetime
) -> list[ReviewCaseView]:
    """Proposals a senior reviewer may second-sign (not their own), oldest due first."""
    if reviewer.role is not Role.SENIOR_REVIEWER:
        return []
    cases = session.scalars(
        select(ReviewCase)
        .where(ReviewCase.status == CaseStatus.AWAITING_SECOND_SIGNATURE.value)
        .order_by(*_QUEUE_ORDER)
    ).all()
    views = _views(session, cases, now)
    return [v for v in views if v.decided_by != reviewer.user_id]


def list_cases(
    *, session: Session, now: datetime, status: CaseStatus | None = None, limit: int = 500
) -> list[ReviewCaseView]:
    """All cases (or those in one status), oldest due first: the read-only overview."""
    query = select(ReviewCase).order_by(*_QUEUE_ORDER).limit(limit)
    if status is not None:
        query = query.where(ReviewCase.status == status.value)
    return _views(session, session.scalars(query).all(), now)


def _views(session: Session, cases: Sequence[ReviewCase], now: datetime) -> list[ReviewCaseView]:
    ids = [c.id for c in cases]
    progress = (
        {
            p.case_id: p
            for p in session.scalars(
                select(ReviewCaseProgress).where(ReviewCaseProgress.case_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    return [_view(c, progress.get(c.id), now) for c in cases]


def claim_next_case(
    *, uow: UnitOfWork, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView | None:
    """Give the reviewer the next case (oldest due first); None when nothing is waiting."""
    rules.require_worker(reviewer, "claim cases")
    now = clock()
    with uow:
        session = uow.session
        take_write_lock(session)
        query = select(ReviewCase).where(_claimable(reviewer, now)).order_by(*_QUEUE_ORDER).limit(1)
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True, of=ReviewCase)
        candidate = session.scalars(query).first()
        if candidate is None:
            return None
        return _claim(session, candidate, reviewer, now)


def claim_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Claim one particular case from the queue, if nobody else holds it."""
    rules.require_worker(reviewer, "claim cases")
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        if case.status == CaseStatus.CLAIMED.value and case.claimed_by == reviewer.user_id:
            case.claimed_at = now
            return _view(case, _progress(session, case.id), now)
        progress = session.get(ReviewCaseProgress, case_id)
        escalated_by = progress.escalated_by if progress is not None else None
        waiting = case.status in (CaseStatus.OPEN.value, CaseStatus.CLAIMED.value)
        if waiting and not rules.may_claim(reviewer, escalated_by=escalated_by):
            raise rules.NotPermitted(
                f"case {case_id} was escalated to the senior reviewers"
                + (" by you" if escalated_by == reviewer.user_id else "")
                + "; another senior reviewer must take it"
            )
        claimable = session.scalar(
            select(func.count()).where(ReviewCase.id == case_id, _claimable(reviewer, now))
        )
        if not claimable:
            raise rules.WrongState(
                f"case {case_id} is {case.status.replace('_', ' ')}"
                + (" by another reviewer" if case.status == CaseStatus.CLAIMED.value else "")
                + "; it cannot be claimed now"
            )
        return _claim(session, case, reviewer, now)


def _claim(session: Session, case: ReviewCase, reviewer: Actor, now: datetime) -> ReviewCaseView:
    lapsed_holder = case.claimed_by if case.status == CaseStatus.CLAIMED.value else None
    # The guard repeats the claimable condition: the row count proves nobody got there first.
    result = session.execute(
        update(ReviewCase)
        .where(
            ReviewCase.id == case.id,
            or_(
                ReviewCase.status == CaseStatus.OPEN.value,
                and_(
                    ReviewCase.status == CaseStatus.CLAIMED.value,
                    ReviewCase.claimed_at < now - rules.CLAIM_IDLE_LIMIT,
                ),
            ),
            _escalation_allows(reviewer),
        )
        .values(status=CaseStatus.CLAIMED.value, claimed_by=reviewer.user_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise rules.WrongState(f"case {case.id} was claimed by someone else a moment ago")
    session.refresh(case)
    if lapsed_holder is not None:
        _record(
            session,
            now=now,
            actor="system",
            action="claim_expired",
            case_id=case.id,
            details={"held_by": lapsed_holder},
        )
    _record(session, now=now, actor=reviewer.label, action="claimed", case_id=case.id)
    return _view(case, _progress(session, case.id), now)


def keep_claim(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Renew the reviewer's claim while they work on the case, so it does not lapse."""
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        _require_holder(case, reviewer, "keep working on it")
        case.claimed_at = now
        return _view(case, _progress(session, case.id), now)


def release_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Give a held case back to the queue."""
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        _require_holder(case, reviewer, "release it")
        _unclaim(case)
        _record(session, now=now, actor=reviewer.label, action="released", case_id=case.id)
        return _view(case, _progress(session, case.id), now)


def _unclaim(case: ReviewCase) -> None:
    case.status = CaseStatus.OPEN.value
    case.claimed_by = None
    case.claimed_at = None


def skip_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Skip for now: release the case if held, and do not offer it to this reviewer for a while."""
    rules.require_worker(reviewer, "skip cases")
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        if case.status == CaseStatus.CLAIMED.value and case.claimed_by == reviewer.user_id:
            _unclaim(case)
        elif case.status == CaseStatus.RESOLVED.value:
            raise rules.WrongState(f"case {case_id} is resolved; there is nothing to skip")
        until = now + rules.SKIP_FOR
        skip = session.get(ReviewSkip, (case_id, reviewer.user_id))
        if skip is None:
            session.add(ReviewSkip(case_id=case_id, user_id=reviewer.user_id, until=until))
        else:
            skip.until = until
        _record(
            session,
            now=now,
            actor=reviewer.label,
            action="skipped",
            case_id=case.id,
            details={"until": until},
        )
        return _view(case, _progress(session, case.id), now)


def escalate_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, note: str, clock: Clock = utc_now
) -> ReviewCaseView:
    """Hand a held case to the senior reviewers with a note; the holder cannot take it back."""
    rules.require_worker(reviewer, "escalate cases")
    note = rules.check_escalation_note(note)
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        _require_holder(case, reviewer, "escalate it")
        progress = _progress(session, case.id)
        progress.escalated_by = reviewer.user_id
        progress.escalated_at = now
        progress.escalation_note = note
        _unclaim(case)
        _record(
            session,
            now=now,
            actor=reviewer.label,
            action="escalated",
            case_id=case.id,
            details={"to": Role.SENIOR_REVIEWER.value, "note": note},
        )
        return _view(case, progress, now)


# Deciding.


def decide_case(
    *,
    uow: UnitOfWork,
    case_id: str,
    reviewer: Actor,
    outcome: ReviewOutcome | str,
    justification: str,
    new_terms: NewTerms | None = None,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """Uphold, overturn or change the terms; resolves the case or asks for a second signature."""
    rules.require_worker(reviewer, "decide cases")
    try:
        outcome = ReviewOutcome(outcome)
    except ValueError:
        allowed = ", ".join(o.value for o in ReviewOutcome)
        raise rules.InvalidInput(f"outcome must be one of {allowed}, not {outcome!r}") from None
    justification = rules.check_justification(justification)
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        _require_holder(case, reviewer, "decide it")
        decision = case.decision
        application = decision.application
        policy = policy_for_version(decision.policy_version)
        terms = rules.check_new_terms(
            outcome, new_terms, product_category=application.product_category, policy=policy
        )
        rules.resulting_outcome(outcome, original_outcome=decision.outcome)
        progress = _progress(session, case.id)
        progress.decided_by = reviewer.user_id
        progress.decided_at = now
        progress.new_amount_eur = Decimal(f"{terms.amount_eur:.2f}") if terms else None
        progress.new_term_months = terms.term_months if terms else None
        progress.second_signature_refused_by = None
        case.outcome = outcome.value
        case.justification = justification
        details: dict[str, Any] = {"outcome": outcome.value, "justification": justification}
        if terms is not None:
            details["new_terms"] = {
                "amount_eur": terms.amount_eur,
                "term_months": terms.term_months,
            }
        if rules.needs_second_signature(
            outcome, applied_amount_eur=float(application.amount), new_terms=terms, policy=policy
        ):
            case.status = CaseStatus.AWAITING_SECOND_SIGNATURE.value
            _record(
                session,
                now=now,
                actor=reviewer.label,
                action="proposed_for_second_signature",
                case_id=case.id,
                details=details,
            )
        else:
            _resolve(session, case, progress, now=now, actor=reviewer, details=details)
        return _view(case, progress, now)


def second_signature(
    *,
    uow: UnitOfWork,
    case_id: str,
    signer: Actor,
    agree: bool,
    justification: str,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """A senior reviewer signs a proposal (resolving the case) or sends it back to the queue."""
    justification = rules.check_justification(justification)
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        if case.status != CaseStatus.AWAITING_SECOND_SIGNATURE.value:
            raise rules.WrongState(f"case {case_id} does not await a second signature")
        progress = _progress(session, case.id)
        if signer.role is not Role.SENIOR_REVIEWER:
            raise rules.NotPermitted(
                f"a second signature must come from a senior reviewer; {signer.username} "
                f"is {signer.role.value}"
            )
        if not rules.may_second_sign(signer, decided_by=progress.decided_by):
            raise rules.NotPermitted(
                "the second signature must come from a different person than the one who "
                "proposed the outcome"
            )
        if agree:
            case.second_signature_by = signer.user_id
            _resolve(
                session,
                case,
                progress,
                now=now,
                actor=signer,
                details={"second_signature": justification, "outcome": case.outcome},
            )
        else:
            progress.second_signature_refused_by = signer.user_id
            case.outcome = None
            case.justification = None
            progress.new_amount_eur = None
            progress.new_term_months = None
            _unclaim(case)
            _record(
                session,
                now=now,
                actor=signer.label,
                action="second_signature_refused",
                case_id=case.id,
                details={"justification": justification},
            )
        return _view(case, progress, now)


def _resolve(
    session: Session,
    case: ReviewCase,
    progress: ReviewCaseProgress,
    *,
    now: datetime,
    actor: Actor,
    details: dict[str, Any],
) -> None:
    """Store the new decision linked to the original, notify the client, close the case."""
    original = case.decision
    outcome = ReviewOutcome(case.outcome)
    new_outcome = rules.resulting_outcome(outcome, original_outcome=original.outcome)
    terms = (
        NewTerms(float(progress.new_amount_eur), int(progress.new_term_months or 0))
        if progress.new_amount_eur is not None
        else None
    )
    resulting = Decision(
        id=str(time_ordered_uuid()),
        application_id=original.application_id,
        outcome=new_outcome,
        automated=False,
        probability_of_default=original.probability_of_default,
        risk_grade=original.risk_grade,
        model_name=original.model_name,
        model_version=original.model_version,
        policy_version=original.policy_version,
        contract_versions=original.contract_versions,
        reasons=[_review_reason(outcome, terms)],
        policy_rules=[],
        contributions=original.contributions,
        counterfactual=None,
        bureau_report_id=original.bureau_report_id,
        input_hash=original.input_hash,
        decided_at=now,
        contestable_until=None,
        supersedes_decision_id=original.id,
        shadow=None,
    )
    session.add(resulting)
    session.flush()
    decision_log.append(
        session=session,
        decision_id=resulting.id,
        at=now,
        payload={
            "kind": "review_decision",
            "decision_id": resulting.id,
            "supersedes_decision_id": original.id,
            "decided_at": now,
            "review_case_id": case.id,
            "review_kind": case.kind,
            "review_outcome": outcome.value,
            "reviewer_user_id": progress.decided_by,
            "second_signature_user_id": case.second_signature_by,
            "justification": case.justification,
            "new_terms": (
                {"amount_eur": terms.amount_eur, "term_months": terms.term_months}
                if terms
                else None
            ),
            "record": decision_record(
                {column: getattr(resulting, column) for column in RECORDED_COLUMNS},
                reasons=resulting.reasons,
                policy_rules=resulting.policy_rules,
            ),
        },
    )
    case.status = CaseStatus.RESOLVED.value
    case.resolved_at = now
    case.resulting_decision_id = resulting.id
    view = _view(case, progress, now)
    webhooks.enqueue(
        session=session,
        client_ids=_clients_to_notify(case, progress),
        event_type="review.resolved",
        review_case_id=case.id,
        data=_event_data(view, resulting_outcome=new_outcome),
        now=now,
    )
    _record(
        session,
        now=now,
        actor=actor.label,
        action="resolved",
        case_id=case.id,
        details={
            **details,
            "resulting_decision_id": resulting.id,
            "resulting_outcome": new_outcome,
        },
    )


_REVIEW_REASONS = {
    ReviewOutcome.UPHELD: (
        "H01_REVIEW_UPHELD",
        "Läbivaataja jättis automaatse otsuse jõusse.",
        "A reviewer upheld the automated decision.",
    ),
    ReviewOutcome.OVERTURNED: (
        "H02_REVIEW_OVERTURNED",
        "Läbivaataja muutis otsust ja kiitis taotluse heaks.",
        "A reviewer overturned the decision and approved the application.",
    ),
    ReviewOutcome.TERMS_CHANGED: (
        "H03_REVIEW_CHANGED_TERMS",
        "Läbivaataja kiitis heaks muudetud tingimustega järelmaksu.",
        "A reviewer approved an instalment plan on changed terms.",
    ),
}


def _review_reason(outcome: ReviewOutcome, terms: NewTerms | None) -> dict[str, Any]:
    code, text_et, text_en = _REVIEW_REASONS[outcome]
    reason: dict[str, Any] = {
        "code": code,
        "text_et": text_et,
        "text_en": text_en,
        "contribution": None,
        "kind": "review",
    }
    if terms is not None:
        reason["new_terms"] = {"amount_eur": terms.amount_eur, "term_months": terms.term_months}
    return reason


def _clients_to_notify(case: ReviewCase, progress: ReviewCaseProgress) -> list[str]:
    """The client whose application it was, and the one that opened the case if another."""
    clients = [case.decision.application.client_id]
    if progress.opened_by_client_id and progress.opened_by_client_id not in clients:
        clients.append(progress.opened_by_client_id)
    return clients


def _event_data(view: ReviewCaseView, *, resulting_outcome: str | None) -> dict[str, Any]:
    return {
        "review_id": view.id,
        "decision_id": view.decision_id,
        "kind": view.kind.value,
        "status": view.status.value,
        "outcome": view.outcome.value if view.outcome else None,
        "resulting_decision_id": view.resulting_decision_id,
        "resulting_outcome": resulting_outcome,
        "new_terms": (
            {"amount_eur": view.new_terms.amount_eur, "term_months": view.new_terms.term_months}
            if view.new_terms
            else None
        ),
        "due_on": view.due_on.isoformat(),
        "resolved_at": view.resolved_at.isoformat() if view.resolved_at else None,
    }


# Extending.


def extend_case(
    *,
    uow: UnitOfWork,
    case_id: str,
    reviewer: Actor,
    further_months: int,
    reason: str,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """A senior reviewer extends the deadline; the customer's notice goes out at once."""
    now = clock()
    with uow:
        session = uow.session
        case = _lock_case(session, case_id)
        if case.status == CaseStatus.RESOLVED.value:
            raise rules.WrongState(f"case {case_id} is resolved; its deadline cannot change")
        extension = rules.plan_extension(
            actor=reviewer,
            received_at=case.received_at,
            due_at=case.due_at,
            extended_due_at=case.extended_due_at,
            further_months=further_months,
            reason=reason,
            now=now,
        )
        case.extended_due_at = extension.extended_due_at
        case.extension_reason = extension.reason
        # The notice is handed to the client's channel now, inside the first month.
        case.extension_notice_sent_at = now
        progress = _progress(session, case.id)
        view = _view(case, progress, now)
        webhooks.enqueue(
            session=session,
            client_ids=_clients_to_notify(case, progress),
            event_type="review.extended",
            review_case_id=case.id,
            data={
                **_event_data(view, resulting_outcome=None),
                "extension_reason": extension.reason,
                "extended_due_on": rules.local_day(extension.extended_due_at).isoformat(),
            },
            now=now,
        )
        _record(
            session,
            now=now,
            actor=reviewer.label,
            action="extended",
            case_id=case.id,
            details={
                "further_months": further_months,
                "reason": extension.reason,
                "extended_due_at": extension.extended_due_at,
                "notice_due_at": extension.notice_due_at,
            },
        )
        return view


# Reading.


def case_view(*, session: Session, case_id: str, now: datetime) -> ReviewCaseView:
    """One case by id."""
    case = _load_case(session, case_id)
    return _view(case, session.get(ReviewCaseProgress, case_id), now)


def audit_trail(*, session: Session, case_id: str) -> list[AuditEvent]:
    """Who did what to a case, oldest first."""
    return [
        AuditEvent(e.seq, e.at, e.actor, e.action, dict(e.details))
        for e in audit.entries_for(session=session, entity_type=ENTITY, entity_id=case_id)
    ]


def case_detail(*, session: Session, case_id: str, now: datetime) -> CaseDetail:
    """Everything a reviewer needs to judge the case, statement first, the model's limits shown."""
    case = _load_case(session, case_id)
    progress = session.get(ReviewCaseProgress, case_id)
    view = _view(case, progress, now)
    decision = case.decision
    application = decision.application
    customer = application.customer
    inputs = session.get(DecisionInput, decision.id)
    features: Mapping[str, Any] = (inputs.features or {}) if inputs else {}
    applied_on = application.applied_at.date()
    policy = policy_for_version(decision.policy_version)

    application_values = [
        SourcedValue("amount_eur", float(application.amount), "application", applied_on),
        SourcedValue("term_months", application.term_months, "application", applied_on),
        SourcedValue("product_category", application.product_category, "application", applied_on),
        SourcedValue("channel", application.channel, "application", applied_on),
        SourcedValue(
            "human_review_requested", application.human_review_requested, "application", applied_on
        ),
    ]
    application_features = [
        SourcedValue(name, features[name], "application", applied_on)
        for name in APPLICATION_FEATURES
        if name in features
    ]
    invoices = _invoice_history(session, customer.id, applied_on)
    history_source = "internal billing"
    history_as_of = max((i["due_on"] for i in invoices), default=None)
    history_flags = () if invoices else ("missing",)
    # Bureau features are shown from the report itself, application ones above.
    payment_history = [
        SourcedValue(name, value, history_source, history_as_of, history_flags)
        for name, value in sorted(features.items())
        if not name.startswith("bureau_") and name not in APPLICATION_FEATURES
    ]
    report = application.bureau_report
    bureau_values: list[SourcedValue] = []
    definition = None
    if report is not None:
        flags = (
            ("stale",) if application.applied_at - report.requested_at > STALE_BUREAU_REPORT else ()
        )
        as_of = report.requested_at.date()
        source = f"{BUREAU_NAME}, report {report.report_id}"
        bureau_values = [
            SourcedValue("score", report.score, source, as_of, flags),
            SourcedValue("risk_class", report.risk_class, source, as_of, flags),
            SourcedValue(
                "pd_band",
                f"{report.pd_band_low:.3f}-{report.pd_band_high:.3f}",
                source,
                as_of,
                flags,
            ),
            SourcedValue("open_defaults", report.open_default_count, source, as_of, flags),
            SourcedValue("closed_defaults", report.closed_default_count, source, as_of, flags),
        ]
        definition = RISK_CLASSES.get(report.risk_class)
    elif decision.bureau_report_id is None:
        bureau_values = [
            SourcedValue("report", None, BUREAU_NAME, applied_on, ("missing",)),
        ]
    contributions = sorted(
        ((name, float(value)) for name, value in _contribution_values(decision).items()),
        key=lambda item: -abs(item[1]),
    )
    escalator = session.get(User, view.escalated_by) if view.escalated_by is not None else None
    amount = (
        float(progress.new_amount_eur)
        if progress is not None and progress.new_amount_eur is not None
        else float(application.amount)
    )
    return CaseDetail(
        case=view,
        statement=case.statement,
        attachments=view.attachments,
        decision_outcome=decision.outcome,
        decision_automated=decision.automated,
        decided_at=decision.decided_at,
        application=application_values,
        application_features=application_features,
        payment_history=payment_history,
        invoices=invoices,
        bureau=bureau_values,
        bureau_class=report.risk_class if report else None,
        bureau_class_definition_et=definition.definition_et if definition else None,
        bureau_class_definition_en=definition.definition_en if definition else None,
        probability_of_default=decision.probability_of_default,
        risk_grade=decision.risk_grade,
        model=(f"{decision.model_name} v{decision.model_version}" if decision.model_name else None),
        known_limits=_known_limits(customer, application, features, report),
        reasons=list(decision.reasons),
        base_value=inputs.base_value if inputs else None,
        contributions=contributions,
        counterfactual=decision.counterfactual,
        policy_rules=list(decision.policy_rules),
        policy_version=decision.policy_version,
        second_signature_required=amount > policy.second_signature_above_eur,
        second_signature_above_eur=policy.second_signature_above_eur,
        audit_trail=audit_trail(session=session, case_id=case_id),
        escalated_by_username=escalator.username if escalator is not None else None,
    )


def _contribution_values(decision: Decision) -> Mapping[str, float]:
    contributions = decision.contributions or {}
    # Stored either as {feature: value} or with the values under a key of their own.
    nested = contributions.get("values") if isinstance(contributions, Mapping) else None
    source = nested if isinstance(nested, Mapping) else contributions
    return {k: v for k, v in source.items() if isinstance(v, int | float)}


def _invoice_history(session: Session, customer_id: int, applied_on: date) -> list[dict[str, Any]]:
    since = applied_on - timedelta(days=730)
    rows = session.scalars(
        select(Invoice)
        .where(
            Invoice.customer_id == customer_id,
            Invoice.issued_on >= since,
            Invoice.issued_on <= applied_on,
        )
        .order_by(Invoice.due_on.desc())
    ).all()
    history = []
    for invoice in rows:
        settled = invoice.paid_in_full_on
        late_days = ((settled or applied_on) - invoice.due_on).days
        history.append(
            {
                "invoice_number": invoice.invoice_number,
                "issued_on": invoice.issued_on,
                "due_on": invoice.due_on,
                "amount_eur": float(invoice.amount),
                "paid_eur": float(invoice.paid),
                "paid_in_full_on": settled,
                "days_past_due": max(late_days, 0),
                "reminders_sent": invoice.reminders_sent,
                "sent_to_collection_on": invoice.sent_to_collection_on,
                "source": "internal billing",
            }
        )
    return history


def _known_limits(
    customer: Customer,
    application: Application,
    features: Mapping[str, Any],
    report: BureauReport | None,
) -> list[str]:
    limits: list[str] = []
    applied_on = application.applied_at.date()
    if customer.customer_since is None or features.get("thin_file"):
        limits.append(
            "Thin file: the company holds no payment history for this person, so the estimate "
            "rests on the bureau rating and the application alone and is less certain."
        )
    elif (applied_on - customer.customer_since).days < SHORT_HISTORY_MONTHS * 30:
        limits.append(
            f"New customer: fewer than {SHORT_HISTORY_MONTHS} months of payment history; the "
            "model saw few such customers and its estimate is less certain."
        )
    if report is None:
        limits.append(
            "No bureau report: the model did not see the bureau rating or registered defaults."
        )
    return limits


def client_review(*, session: Session, review_id: str, client: str, now: datetime) -> ClientReview:
    """A case as the client that owns it sees it, with the customer letters once they exist."""
    case = session.get(ReviewCase, review_id)
    progress = session.get(ReviewCaseProgress, review_id)
    owners = {case.decision.application.client_id} if case is not None else set()
    if progress is not None and progress.opened_by_client_id:
        owners.add(progress.opened_by_client_id)
    if case is None or client not in owners:
        raise ReviewNotFound(f"no review {review_id}")
    view = _view(case, progress, now)
    resulting = case.resulting_decision
    letters: dict[str, str | None] = {"et": None, "en": None}
    notices: dict[str, str | None] = {"et": None, "en": None}
    application = case.decision.application
    if view.status is CaseStatus.RESOLVED and resulting is not None and view.outcome:
        letter = ReviewOutcomeLetter(
            review_id=view.id,
            decision_id=view.decision_id,
            resulting_decision_id=resulting.id,
            received_on=rules.local_day(view.received_at),
            resolved_on=rules.local_day(view.resolved_at or now),
            original_outcome=case.decision.outcome,
            outcome=view.outcome.value,
            amount_eur=float(application.amount),
            term_months=application.term_months,
            product_category=application.product_category,
            new_amount_eur=view.new_terms.amount_eur if view.new_terms else None,
            new_term_months=view.new_terms.term_months if view.new_terms else None,
            justification=view.justification or "",
            second_signature=view.second_signature_by is not None,
        )
        letters = {lang: render_review_outcome_letter(letter, language=lang) for lang in letters}
    if view.extended_due_at is not None and view.extension_reason:
        notice = ExtensionNotice(
            review_id=view.id,
            decision_id=view.decision_id,
            received_on=rules.local_day(view.received_at),
            original_due_on=rules.local_day(view.due_at),
            extended_due_on=rules.local_day(view.extended_due_at),
            reason=view.extension_reason,
        )
        notices = {lang: render_extension_notice(notice, language=lang) for lang in notices}
    return ClientReview(
        case=view,
        resulting_outcome=resulting.outcome if resulting is not None else None,
        letter_et=letters["et"],
        letter_en=letters["en"],
        extension_notice_et=notices["et"],
        extension_notice_en=notices["en"],
    )


# Oversight.


def oversight_stats(*, session: Session, now: datetime) -> OversightStats:
    """Overturn and agreement rates per reviewer and per reason code; timeliness of answers."""
    rows = session.execute(
        select(ReviewCase, ReviewCaseProgress, Decision, User)
        .join(ReviewCaseProgress, ReviewCaseProgress.case_id == ReviewCase.id, isouter=True)
        .join(Decision, Decision.id == ReviewCase.decision_id)
        .join(User, User.id == ReviewCaseProgress.decided_by, isouter=True)
    ).all()
    per_reviewer: dict[str, list[str]] = defaultdict(list)
    per_reason: dict[str, list[str]] = defaultdict(list)
    days: list[float] = []
    on_time = late = open_cases = overdue = near = extended = 0
    for case, _progress_row, decision, user in rows:
        due = case.extended_due_at or case.due_at
        extended += case.extended_due_at is not None
        if case.status != CaseStatus.RESOLVED.value:
            open_cases += 1
            level = rules.escalation(due, now=now)
            overdue += level is Escalation.OVERDUE
            near += level is Escalation.NEAR_DUE
            continue
        outcome = case.outcome or ""
        per_reviewer[user.username if user else "unknown"].append(outcome)
        for code in _reason_codes(decision.reasons):
            per_reason[code].append(outcome)
        days.append((case.resolved_at - case.received_at).total_seconds() / 86400)
        if case.resolved_at <= due:
            on_time += 1
        else:
            late += 1
    return OversightStats(
        resolved=on_time + late,
        per_reviewer=_rate_rows(per_reviewer),
        per_reason_code=_rate_rows(per_reason),
        median_days_to_resolution=round(median(days), 2) if days else None,
        resolved_on_time=on_time,
        resolved_late=late,
        open_cases=open_cases,
        open_overdue=overdue,
        open_near_due=near,
        extended=extended,
    )


def _reason_codes(reasons: Iterable[Any]) -> list[str]:
    codes = []
    for reason in reasons or []:
        code = reason.get("code") if isinstance(reason, Mapping) else None
        if code and code not in codes:
            codes.append(code)
    return codes


def _rate_rows(groups: Mapping[str, list[str]]) -> list[RateRow]:
    return sorted(
        (
            RateRow(
                key=key,
                cases=len(outcomes),
                upheld=outcomes.count(ReviewOutcome.UPHELD.value),
                overturned=outcomes.count(ReviewOutcome.OVERTURNED.value),
                terms_changed=outcomes.count(ReviewOutcome.TERMS_CHANGED.value),
            )
            for key, outcomes in groups.items()
        ),
        key=lambda row: (-row.cases, row.key),
    )


__all__ = [
    "AlreadyContested",
    "Attachment",
    "AuditEvent",
    "AuditLogEntry",
    "CaseDetail",
    "ClientReview",
    "InvalidContest",
    "NotContestable",
    "OversightStats",
    "RateRow",
    "ReviewCaseView",
    "ReviewNotFound",
    "SourcedValue",
    "audit_trail",
    "awaiting_signature_for",
    "case_detail",
    "case_view",
    "claim_case",
    "claim_next_case",
    "client_review",
    "contest_decision",
    "decide_case",
    "escalate_case",
    "extend_case",
    "keep_claim",
    "list_cases",
    "open_case_for_pending_decision",
    "oversight_stats",
    "queue_for",
    "release_case",
    "reviewer_from_user",
    "second_signature",
    "skip_case",
]
