"""The retention store: what may be past retention, and its removal in batches, on both dialects.

The retention sweep and data-subject erasure decide what has expired; this module only
reads the candidate records and removes the ones they name. A removed decision leaves a
tombstone (``removed_decisions``) so the decision log's check tells it apart from tampering.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, TypeVar

from sqlalchemy import CursorResult, Row, delete, func, select, update
from sqlalchemy.orm import Session

from scoring.storage import tables as t
from scoring.storage.tables_payment_defaults import IdentityVaultEntry
from scoring.storage.tables_privacy import RemovedDecision
from scoring.storage.tables_reviews import WebhookEvent
from scoring.storage.tables_web_sessions import WebSession

# Ids per IN (...) list: well under the bind-parameter limits of both dialects.
_IN_CHUNK = 5000

_T = TypeVar("_T")

ApplicationRow = Row[int, int, str, datetime, int, int | None]
"""``id, customer_id, client_id, applied_at, term_months, bureau_report_id``"""
DecisionRow = Row[str, int, str, datetime, str | None]
"""``id, application_id, outcome, decided_at, supersedes_decision_id``"""
CaseRow = Row[str, str, str, datetime | None]
"""``id, decision_id, status, resolved_at``"""
ReportRow = Row[int, datetime]
"""``id, requested_at``"""
CustomerRow = Row[int, date | None, date | None]
"""``id, customer_since, relationship_ended_on``"""


class InvoiceRow(NamedTuple):
    """An invoice with its latest payment day and how many payments it has."""

    id: int
    customer_id: int
    issued_on: date
    paid_in_full_on: date | None
    sent_to_collection_on: date | None
    amount: Decimal
    paid: Decimal
    last_paid_on: date | None
    payments: int


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _row_count(result: object) -> int:
    # A DELETE's result is a CursorResult; the stubs type Session.execute more widely.
    assert isinstance(result, CursorResult)
    return result.rowcount or 0


class RetentionStore:
    """The records retention applies to, read and removed in one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # What may be past retention (read only).

    def applications_before(self, cutoff: datetime) -> Sequence[ApplicationRow]:
        """Applications made before ``cutoff``."""
        return self.session.execute(
            select(
                t.Application.id,
                t.Application.customer_id,
                t.Application.client_id,
                t.Application.applied_at,
                t.Application.term_months,
                t.Application.bureau_report_id,
            ).where(t.Application.applied_at < cutoff)
        ).all()

    def decisions_by_application(
        self, application_ids: Sequence[int]
    ) -> dict[int, list[DecisionRow]]:
        """The decisions of the applications, by application id."""
        decisions: dict[int, list[DecisionRow]] = defaultdict(list)
        for chunk in _chunks(application_ids, _IN_CHUNK):
            for row in self.session.execute(
                select(
                    t.Decision.id,
                    t.Decision.application_id,
                    t.Decision.outcome,
                    t.Decision.decided_at,
                    t.Decision.supersedes_decision_id,
                ).where(t.Decision.application_id.in_(chunk))
            ):
                decisions[row.application_id].append(row)
        return decisions

    def cases_by_decision(self, decision_ids: Sequence[str]) -> dict[str, list[CaseRow]]:
        """The review cases of the decisions, by decision id."""
        cases: dict[str, list[CaseRow]] = defaultdict(list)
        for chunk in _chunks(decision_ids, _IN_CHUNK):
            for row in self.session.execute(
                select(
                    t.ReviewCase.id,
                    t.ReviewCase.decision_id,
                    t.ReviewCase.status,
                    t.ReviewCase.resolved_at,
                ).where(t.ReviewCase.decision_id.in_(chunk))
            ):
                cases[row.decision_id].append(row)
        return cases

    def applications_using_reports(self, report_ids: Sequence[int]) -> list[tuple[int, int]]:
        """``(application id, bureau report id)`` of every application using one of the reports."""
        used: list[tuple[int, int]] = []
        for chunk in _chunks(report_ids, _IN_CHUNK):
            for row in self.session.execute(
                select(t.Application.id, t.Application.bureau_report_id).where(
                    t.Application.bureau_report_id.in_(chunk)
                )
            ):
                used.append((row.id, row.bureau_report_id))
        return used

    def unused_reports_before(self, cutoff: datetime) -> Sequence[ReportRow]:
        """Bureau reports requested before ``cutoff`` that no application refers to."""
        referenced = select(t.Application.id).where(
            t.Application.bureau_report_id == t.BureauReport.id
        )
        return self.session.execute(
            select(t.BureauReport.id, t.BureauReport.requested_at).where(
                t.BureauReport.requested_at < cutoff, ~referenced.exists()
            )
        ).all()

    def invoices_issued_before(self, cutoff: date) -> list[InvoiceRow]:
        """Invoices issued before ``cutoff`` with their latest payment day and payment count."""
        last_payment = func.max(t.Payment.paid_on)
        rows = self.session.execute(
            select(
                t.Invoice.id,
                t.Invoice.customer_id,
                t.Invoice.issued_on,
                t.Invoice.paid_in_full_on,
                t.Invoice.sent_to_collection_on,
                t.Invoice.amount,
                t.Invoice.paid,
                last_payment.label("last_paid_on"),
                func.count(t.Payment.id).label("payments"),
            )
            .outerjoin(t.Payment, t.Payment.invoice_id == t.Invoice.id)
            .where(t.Invoice.issued_on < cutoff)
            .group_by(t.Invoice.id)
        ).all()
        return [
            InvoiceRow(
                id=row.id,
                customer_id=row.customer_id,
                issued_on=row.issued_on,
                paid_in_full_on=row.paid_in_full_on,
                sent_to_collection_on=row.sent_to_collection_on,
                amount=row.amount,
                paid=row.paid,
                last_paid_on=_as_date(row.last_paid_on),
                payments=row.payments,
            )
            for row in rows
        ]

    def customers_ended_or_never(self) -> Sequence[CustomerRow]:
        """Customers who did not object to profiling and either never were one or have ended."""
        return self.session.execute(
            select(
                t.Customer.id, t.Customer.customer_since, t.Customer.relationship_ended_on
            ).where(
                t.Customer.objected_to_profiling_at.is_(None),
                (t.Customer.customer_since.is_(None))
                | (t.Customer.relationship_ended_on.isnot(None)),
            )
        ).all()

    def records_held_per_customer(self, customer_ids: Sequence[int]) -> defaultdict[int, int]:
        """How many invoices, applications and bureau reports each customer still has."""
        remaining: defaultdict[int, int] = defaultdict(int)
        for model in (t.Invoice, t.Application, t.BureauReport):
            for chunk in _chunks(customer_ids, _IN_CHUNK):
                for customer_id, count in self.session.execute(
                    select(model.customer_id, func.count())
                    .where(model.customer_id.in_(chunk))
                    .group_by(model.customer_id)
                ):
                    remaining[customer_id] += count
        return remaining

    def report_owners(self, report_ids: Sequence[int]) -> list[int]:
        """The customer id of each of the bureau reports (one per report)."""
        owners: list[int] = []
        for chunk in _chunks(report_ids, _IN_CHUNK):
            for (customer_id,) in self.session.execute(
                select(t.BureauReport.customer_id).where(t.BureauReport.id.in_(chunk))
            ):
                owners.append(customer_id)
        return owners

    def web_sessions_ended_by(self, at: datetime) -> list[str]:
        """The token hashes of reviewers' web sessions over by ``at``."""
        return list(
            self.session.scalars(select(WebSession.token_hash).where(WebSession.ended_by(at)))
        )

    # Removal.

    def remove_applications(
        self,
        *,
        application_ids: Sequence[int],
        case_ids: Sequence[str],
        removed_decisions: Sequence[tuple[str, str]],
        at: datetime,
        removed_by: str,
    ) -> None:
        """Delete applications with their decisions, review cases and outbox events.

        ``removed_decisions`` names each decision with the rule it is removed under; each
        leaves a tombstone.
        """
        decision_ids = [decision_id for decision_id, _rule in removed_decisions]
        session = self.session
        if case_ids:
            session.execute(delete(WebhookEvent).where(WebhookEvent.review_case_id.in_(case_ids)))
            session.execute(delete(t.ReviewCase).where(t.ReviewCase.id.in_(case_ids)))
        if decision_ids:
            session.execute(
                delete(t.IdempotencyRecord).where(t.IdempotencyRecord.decision_id.in_(decision_ids))
            )
            session.execute(
                update(t.Decision)
                .where(t.Decision.id.in_(decision_ids))
                .values(supersedes_decision_id=None)
            )
            session.execute(delete(t.Decision).where(t.Decision.id.in_(decision_ids)))
            for decision_id, rule in removed_decisions:
                session.merge(
                    RemovedDecision(
                        decision_id=decision_id, removed_at=at, removed_by=removed_by, rule=rule
                    )
                )
        session.execute(delete(t.Application).where(t.Application.id.in_(application_ids)))

    def remove_bureau_reports(self, report_ids: Sequence[int]) -> int:
        """Delete bureau reports (with their default entries) that no application refers to."""
        referenced = select(t.Application.id).where(
            t.Application.bureau_report_id == t.BureauReport.id
        )
        return _row_count(
            self.session.execute(
                delete(t.BureauReport).where(
                    t.BureauReport.id.in_(report_ids), ~referenced.exists()
                )
            )
        )

    def remove_invoices(self, invoice_ids: Sequence[int]) -> tuple[int, int]:
        """Delete invoices with their payments; ``(invoices, payments)`` removed."""
        payments = self.session.execute(
            delete(t.Payment).where(t.Payment.invoice_id.in_(invoice_ids))
        )
        invoices = self.session.execute(delete(t.Invoice).where(t.Invoice.id.in_(invoice_ids)))
        return _row_count(invoices), _row_count(payments)

    def remove_customers(self, customer_ids: Sequence[int]) -> int:
        """Delete customer rows that nothing refers to any more, with their vault entries."""
        conditions = [
            ~select(model.id).where(model.customer_id == t.Customer.id).exists()
            for model in (t.Invoice, t.Application, t.BureauReport)
        ]
        pseudonyms = self.session.scalars(
            select(t.Customer.pseudonym).where(t.Customer.id.in_(customer_ids), *conditions)
        ).all()
        if not pseudonyms:
            return 0
        self.session.execute(
            delete(IdentityVaultEntry).where(IdentityVaultEntry.pseudonym.in_(pseudonyms))
        )
        return _row_count(
            self.session.execute(delete(t.Customer).where(t.Customer.pseudonym.in_(pseudonyms)))
        )

    def remove_web_sessions(self, token_hashes: Sequence[str]) -> int:
        """Delete reviewers' web sessions by token hash."""
        return _row_count(
            self.session.execute(
                delete(WebSession)
                .where(WebSession.token_hash.in_(token_hashes))
                .execution_options(synchronize_session=False)
            )
        )


def _as_date(value: date | str | None) -> date | None:
    if isinstance(value, str):  # SQLite returns max() of a date column as text
        return date.fromisoformat(value)
    return value
