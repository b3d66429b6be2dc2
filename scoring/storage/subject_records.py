"""Everything held about one person: what access reads, and what erasure and objection change.

A person is found by their keyed pseudonym (never the identification code). Erasure and
objection change the customer row holding it (``SELECT ... FOR UPDATE`` on PostgreSQL),
so two requests about one person do not interleave. Removing applications, bureau reports
and the customer row itself is shared with the retention sweep (``retention_store``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.storage import tables as t
from scoring.storage.tables_decisions import DecisionInput


class SubjectRecords:
    """The records of one data subject, in one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # The person.

    def customer(self, pseudonym: str) -> t.Customer | None:
        """The customer row holding the pseudonym, or None."""
        return self.session.scalars(
            select(t.Customer).where(t.Customer.pseudonym == pseudonym)
        ).first()

    def customer_to_change(self, pseudonym: str) -> t.Customer | None:
        """The customer row holding the pseudonym, locked for the transaction, or None."""
        return self.session.scalars(
            select(t.Customer).where(t.Customer.pseudonym == pseudonym).with_for_update()
        ).first()

    def add_customer(self, pseudonym: str) -> t.Customer:
        """A bare customer row for a person not known yet."""
        customer = t.Customer(pseudonym=pseudonym)
        self.session.add(customer)
        return customer

    def flush(self) -> None:
        """Send the changes so far to the database (within the transaction)."""
        self.session.flush()

    # Invoices and payments.

    def invoices(self, customer_id: int) -> list[t.Invoice]:
        """The customer's invoices, oldest issued first."""
        return list(
            self.session.scalars(
                select(t.Invoice)
                .where(t.Invoice.customer_id == customer_id)
                .order_by(t.Invoice.issued_on)
            )
        )

    def payments_by_invoice(self, customer_id: int) -> defaultdict[int, list[t.Payment]]:
        """The payments on the customer's invoices, oldest first, by invoice id (none: [])."""
        payments: defaultdict[int, list[t.Payment]] = defaultdict(list)
        for payment in self.session.scalars(
            select(t.Payment)
            .join(t.Invoice, t.Payment.invoice_id == t.Invoice.id)
            .where(t.Invoice.customer_id == customer_id)
            .order_by(t.Payment.paid_on)
        ):
            payments[payment.invoice_id].append(payment)
        return payments

    def remove_invoice(self, invoice: t.Invoice, payments: Sequence[t.Payment]) -> None:
        """Delete an invoice with its payments (sent with the next flush)."""
        for payment in payments:
            self.session.delete(payment)
        self.session.delete(invoice)

    # Bureau reports.

    def bureau_reports(self, customer_id: int) -> list[t.BureauReport]:
        """The bureau reports asked about the customer, oldest first."""
        return list(
            self.session.scalars(
                select(t.BureauReport)
                .where(t.BureauReport.customer_id == customer_id)
                .order_by(t.BureauReport.requested_at)
            )
        )

    def bureau_report_ids(self, customer_id: int) -> list[int]:
        """The ids of the bureau reports asked about the customer."""
        return list(
            self.session.scalars(
                select(t.BureauReport.id).where(t.BureauReport.customer_id == customer_id)
            )
        )

    def default_entries_by_report(
        self, report_ids: Sequence[int]
    ) -> defaultdict[int, list[t.BureauDefaultEntry]]:
        """The default entries of the bureau reports, by report id (none: [])."""
        entries: defaultdict[int, list[t.BureauDefaultEntry]] = defaultdict(list)
        for entry in self.session.scalars(
            select(t.BureauDefaultEntry).where(
                t.BureauDefaultEntry.bureau_report_id.in_(report_ids)
            )
        ):
            entries[entry.bureau_report_id].append(entry)
        return entries

    # Applications, decisions and review cases.

    def applications(self, customer_id: int) -> list[t.Application]:
        """The customer's applications, oldest first."""
        return list(
            self.session.scalars(
                select(t.Application)
                .where(t.Application.customer_id == customer_id)
                .order_by(t.Application.applied_at)
            )
        )

    def decisions(self, application_id: int) -> list[t.Decision]:
        """The decisions made on an application, oldest first."""
        return list(
            self.session.scalars(
                select(t.Decision)
                .where(t.Decision.application_id == application_id)
                .order_by(t.Decision.decided_at)
            )
        )

    def decision_inputs(self, decision_ids: Sequence[str]) -> dict[str, DecisionInput]:
        """The features and facts the model saw, by decision id (for those that have them)."""
        return {
            row.decision_id: row
            for row in self.session.scalars(
                select(DecisionInput).where(DecisionInput.decision_id.in_(decision_ids))
            )
        }

    def review_cases(self, decision_ids: Sequence[str]) -> list[t.ReviewCase]:
        """The review cases of the decisions, oldest received first."""
        return list(
            self.session.scalars(
                select(t.ReviewCase)
                .where(t.ReviewCase.decision_id.in_(decision_ids))
                .order_by(t.ReviewCase.received_at)
            )
        )
