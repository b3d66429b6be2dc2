"""The retention sweep: delete what the contracts no longer allow to be kept.

Data classes and their rules (``data_contracts.retention``):

- an application with its decisions, review cases and bureau report: 6 months after the
  decision when no contract followed, else the contract's life plus 3 years; a resolved
  review case holds it 3 years after closing, an open one indefinitely;
- a bureau report no application refers to: 6 months after it was requested;
- an invoice with its payments: 7 years from the end of the financial year of its latest
  entry; an invoice not yet settled is an open claim and is kept;
- a customer row: 5 years after the relationship ended, or at once for a person who never
  was a customer, but only when nothing else of theirs remains; a recorded objection to
  profiling keeps the bare row so the objection goes on being honoured;
- a reviewer's signed-in session: as soon as it is over (signed out or revoked, 30 minutes
  idle, or 12 hours after sign-in). Signing in also clears ended sessions; the sweep
  clears them when nobody signs in.

The decision log keeps its entries: they are the hash-chained evidence (AI Act Art. 12,
19) and carry a pseudonym, never an identification code. The decision rows they point
at are deleted and a tombstone (``removed_decisions``) records each one, so the chain
stays verifiable and a removal on purpose is told apart from tampering.

The plan is read first; then each batch is one transaction that deletes its records and
appends one audit log entry, so an interrupted sweep leaves whole batches and the next
run finishes the rest. A second run finds nothing to do. Every query lives in
``scoring.storage.retention_store``, which the unit of work hands out as ``retention``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from data_contracts import retention as rules
from scoring.domain.deadlines import add_months
from scoring.storage.db import UnitOfWork
from scoring.storage.ingest import HISTORY_CLIENT_ID
from scoring.storage.retention_store import RetentionStore

BATCH_SIZE = 500
ACTOR = "retention-sweep"

# The record classes a sweep reports on, in the order they are swept.
COUNTED = (
    "applications",
    "decisions",
    "review_cases",
    "bureau_reports",
    "invoices",
    "payments",
    "customers",
    "web_sessions",
)

Progress = Callable[[str, int, int], None]

_T = TypeVar("_T")


@dataclass
class ApplicationItem:
    id: int
    customer_id: int
    decision_ids: list[str]
    case_ids: list[str]
    bureau_report_id: int | None
    rule: str


@dataclass
class InvoiceItem:
    id: int
    customer_id: int
    payments: int


@dataclass
class SweepPlan:
    """What is past retention on ``as_of``, grouped by how it is removed."""

    as_of: date
    applications: list[ApplicationItem] = field(default_factory=list)
    application_reports: list[int] = field(default_factory=list)
    orphan_reports: list[int] = field(default_factory=list)
    invoices: list[InvoiceItem] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)
    web_sessions: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "applications": len(self.applications),
            "decisions": sum(len(a.decision_ids) for a in self.applications),
            "review_cases": sum(len(a.case_ids) for a in self.applications),
            "bureau_reports": len(self.application_reports) + len(self.orphan_reports),
            "invoices": len(self.invoices),
            "payments": sum(i.payments for i in self.invoices),
            "customers": len(self.customers),
            "web_sessions": len(self.web_sessions),
        }


@dataclass(frozen=True)
class SweepReport:
    """What a sweep removed (or, in a dry run, would remove)."""

    run_id: str
    as_of: date
    dry_run: bool
    counts: dict[str, int]
    batches: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- planning (read only) --------------------------------------------------------------------


def plan_sweep(*, session: Session, as_of: date) -> SweepPlan:
    """Everything past its retention period on ``as_of``; changes nothing."""
    return plan_from(RetentionStore(session), as_of=as_of)


def plan_from(store: RetentionStore, *, as_of: date) -> SweepPlan:
    """``plan_sweep`` over a retention store (the session's, or a fake in tests)."""
    plan = SweepPlan(as_of=as_of)
    _plan_applications(store, plan)
    _plan_orphan_reports(store, plan)
    _plan_invoices(store, plan)
    _plan_customers(store, plan)
    _plan_web_sessions(store, plan)
    return plan


def _plan_applications(store: RetentionStore, plan: SweepPlan) -> None:
    # Nothing younger than the shortest period (6 months) can have expired.
    applications = store.applications_before(_start_of(add_months(plan.as_of, -rules.QUOTE_MONTHS)))
    decisions = store.decisions_by_application([row.id for row in applications])
    cases = store.cases_by_decision([d.id for rows in decisions.values() for d in rows])
    expired_reports: set[int] = set()
    for app in applications:
        made = decisions.get(app.id, [])
        app_cases = [case for d in made for case in cases.get(d.id, [])]
        followed = contract_followed(app.client_id, made)
        kept_until = application_kept_until(app, made, app_cases)
        if rules.is_expired(kept_until, as_of=plan.as_of):
            plan.applications.append(
                ApplicationItem(
                    id=app.id,
                    customer_id=app.customer_id,
                    decision_ids=[d.id for d in made],
                    case_ids=[c.id for c in app_cases],
                    bureau_report_id=app.bureau_report_id,
                    rule="contract_end_plus_P3Y" if followed else "declined_P6M",
                )
            )
            if app.bureau_report_id is not None:
                expired_reports.add(app.bureau_report_id)
    # A report is removed with its applications only when no kept application refers to it.
    expired_apps = {a.id for a in plan.applications}
    still_used = {
        report_id
        for app_id, report_id in store.applications_using_reports(sorted(expired_reports))
        if app_id not in expired_apps
    }
    plan.application_reports = sorted(expired_reports - still_used)


class KeptApplication(Protocol):
    """What the retention rule reads of a stored application."""

    @property
    def client_id(self) -> str: ...

    @property
    def applied_at(self) -> datetime: ...

    @property
    def term_months(self) -> int: ...


class KeptDecision(Protocol):
    """What the retention rule reads of a stored decision."""

    @property
    def id(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def decided_at(self) -> datetime: ...

    @property
    def supersedes_decision_id(self) -> str | None: ...


class KeptCase(Protocol):
    """What the retention rule reads of a review case."""

    @property
    def status(self) -> str: ...

    @property
    def resolved_at(self) -> datetime | None: ...


def application_kept_until(
    application: KeptApplication,
    decisions: Sequence[KeptDecision],
    cases: Sequence[KeptCase],
) -> date | None:
    """Until when an application is kept, from its row, its decisions and its review cases.

    The one place that reads the rule's dates off the stored records: the sweep and the
    data-subject export and erasure all ask it. ``application`` needs ``client_id``,
    ``applied_at`` and ``term_months``; each decision ``id``, ``outcome``, ``decided_at``
    and ``supersedes_decision_id``; each case ``status`` and ``resolved_at``.
    """
    return rules.application_kept_until(
        applied_on=application.applied_at.date(),
        term_months=application.term_months,
        contract_followed=contract_followed(application.client_id, decisions),
        last_decided_on=max((d.decided_at.date() for d in decisions), default=None),
        cases_closed_on=[
            c.resolved_at.date() if c.status == "resolved" and c.resolved_at else None
            for c in cases
        ],
    )


def contract_followed(client_id: str, decisions: Sequence[KeptDecision]) -> bool:
    """Whether the application's standing decision granted the plan.

    Historical applications were loaded without a decision; they are the company's past
    instalment plans (their repayment outcome is known), so a contract followed them.
    """
    if not decisions:
        return client_id == HISTORY_CLIENT_ID
    superseded = {d.supersedes_decision_id for d in decisions if d.supersedes_decision_id}
    standing = [d for d in decisions if d.id not in superseded] or list(decisions)
    latest = max(standing, key=lambda d: d.decided_at)
    return latest.outcome == "approve"


def _plan_orphan_reports(store: RetentionStore, plan: SweepPlan) -> None:
    rows = store.unused_reports_before(_start_of(add_months(plan.as_of, -rules.QUOTE_MONTHS)))
    plan.orphan_reports = [
        row.id
        for row in rows
        if rules.is_expired(rules.quote_kept_until(row.requested_at.date()), as_of=plan.as_of)
    ]


def _plan_invoices(store: RetentionStore, plan: SweepPlan) -> None:
    # An invoice of a year later than as_of - 8 cannot be 7 full financial years old.
    cutoff = date(plan.as_of.year - rules.ACCOUNTING_YEARS, 1, 1)
    for row in store.invoices_issued_before(cutoff):
        settled = row.paid_in_full_on is not None or row.paid >= row.amount
        if not settled:
            continue
        kept_until = rules.accounting_kept_until(
            [row.issued_on, row.paid_in_full_on, row.sent_to_collection_on, row.last_paid_on]
        )
        if rules.is_expired(kept_until, as_of=plan.as_of):
            plan.invoices.append(InvoiceItem(row.id, row.customer_id, row.payments))


def _plan_customers(store: RetentionStore, plan: SweepPlan) -> None:
    expired = [
        row.id
        for row in store.customers_ended_or_never()
        if row.customer_since is None
        or rules.is_expired(
            rules.relationship_kept_until(row.relationship_ended_on), as_of=plan.as_of
        )
    ]
    if not expired:
        return
    remaining = store.records_held_per_customer(expired)
    # Rows this same sweep removes do not hold their customer back.
    for item in plan.applications:
        remaining[item.customer_id] -= 1
    for invoice in plan.invoices:
        remaining[invoice.customer_id] -= 1
    for customer_id in store.report_owners(plan.application_reports + plan.orphan_reports):
        remaining[customer_id] -= 1
    plan.customers = [cid for cid in expired if remaining[cid] <= 0]


def _plan_web_sessions(store: RetentionStore, plan: SweepPlan) -> None:
    # Over by the start of the sweep's day, as every other rule reads its day.
    plan.web_sessions = store.web_sessions_ended_by(_start_of(plan.as_of))


# -- carrying out ----------------------------------------------------------------------------


def remove_applications(
    session: Session, items: Sequence[ApplicationItem], *, at: datetime, removed_by: str
) -> None:
    """Delete applications with their decisions, review cases and outbox events."""
    remove_application_items(RetentionStore(session), items, at=at, removed_by=removed_by)


def remove_application_items(
    store: RetentionStore, items: Sequence[ApplicationItem], *, at: datetime, removed_by: str
) -> None:
    """``remove_applications`` in a given retention store; each decision keeps its item's rule."""
    store.remove_applications(
        application_ids=[item.id for item in items],
        case_ids=[c for item in items for c in item.case_ids],
        removed_decisions=[(d, item.rule) for item in items for d in item.decision_ids],
        at=at,
        removed_by=removed_by,
    )


def remove_bureau_reports(session: Session, report_ids: Sequence[int]) -> int:
    """Delete bureau reports (with their default entries) that no application refers to."""
    return RetentionStore(session).remove_bureau_reports(report_ids)


def remove_customers(session: Session, customer_ids: Sequence[int]) -> int:
    """Delete customer rows that nothing refers to any more, with their vault entries."""
    return RetentionStore(session).remove_customers(customer_ids)


def run_sweep(
    *,
    sessions: sessionmaker[Session],
    as_of: date,
    dry_run: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> SweepReport:
    """Remove every record past retention on ``as_of``, one audited transaction per batch."""
    run_id = str(uuid.uuid4())
    with sessions() as session:
        plan = plan_sweep(session=session, as_of=as_of)
    counts = plan.counts()
    if dry_run:
        return SweepReport(run_id=run_id, as_of=as_of, dry_run=True, counts=counts, batches=0)
    steps: list[tuple[str, Sequence[Any], _Batch]] = [
        ("applications", plan.applications, _application_batch),
        ("bureau_reports", plan.application_reports + plan.orphan_reports, _report_batch),
        ("invoices", plan.invoices, _invoice_batch),
        ("customers", plan.customers, _customer_batch),
        ("web_sessions", plan.web_sessions, _web_session_batch),
    ]
    done: dict[str, int] = dict.fromkeys(COUNTED, 0)
    batches = 0
    for name, items, remove in steps:
        finished = 0
        for chunk in _chunks(items, batch_size):
            with UnitOfWork(sessions) as uow:
                at = clock()
                removed = remove(uow, chunk, at)
                uow.audit_log.append(
                    at=at,
                    actor=ACTOR,
                    action=f"retention.{name}_removed",
                    entity_type="retention_run",
                    entity_id=run_id,
                    details={"as_of": as_of.isoformat(), "batch": batches + 1, "removed": removed},
                )
            for key, value in removed.items():
                done[key] += value
            batches += 1
            finished += len(chunk)
            if progress is not None:
                progress(name, finished, len(items))
    return SweepReport(run_id=run_id, as_of=as_of, dry_run=False, counts=done, batches=batches)


# Removes one batch of a step in the unit of work's transaction; says how many of what went.
_Batch = Callable[[UnitOfWork, Sequence[Any], datetime], dict[str, int]]


def _application_batch(
    uow: UnitOfWork, items: Sequence[ApplicationItem], at: datetime
) -> dict[str, int]:
    remove_application_items(uow.retention, items, at=at, removed_by="retention")
    return {
        "applications": len(items),
        "decisions": sum(len(i.decision_ids) for i in items),
        "review_cases": sum(len(i.case_ids) for i in items),
    }


def _report_batch(uow: UnitOfWork, ids: Sequence[int], at: datetime) -> dict[str, int]:
    return {"bureau_reports": uow.retention.remove_bureau_reports(ids)}


def _invoice_batch(uow: UnitOfWork, items: Sequence[InvoiceItem], at: datetime) -> dict[str, int]:
    invoices, payments = uow.retention.remove_invoices([item.id for item in items])
    return {"invoices": invoices, "payments": payments}


def _customer_batch(uow: UnitOfWork, ids: Sequence[int], at: datetime) -> dict[str, int]:
    return {"customers": uow.retention.remove_customers(ids)}


def _web_session_batch(uow: UnitOfWork, hashes: Sequence[str], at: datetime) -> dict[str, int]:
    return {"web_sessions": uow.retention.remove_web_sessions(hashes)}
