"""The payment-default register: every query of default reporting.

Reporting asks here for a customer's payment history (invoices, payments and the
who-and-when records of verifications, notices and disputes), for the report runs
already made and the lines the bureau holds from them, and stores new records and runs.
Deriving defaults and planning a report stay in the domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVarTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Mapped, Session

from scoring.domain.payment_defaults import (
    DisputeRecord,
    InvoiceRecord,
    NoticeRecord,
    PaymentRecord,
    ReportLine,
    Transaction,
    VerificationRecord,
)
from scoring.storage.identity_vault import IdentityVault, pseudonyms_on_file
from scoring.storage.tables import Customer, Invoice, Payment
from scoring.storage.tables_payment_defaults import (
    DefaultDispute,
    DefaultNotice,
    DefaultReportLine,
    DefaultReportRun,
    DefaultVerification,
)

_Columns = TypeVarTuple("_Columns")


@dataclass(frozen=True)
class PaymentHistory:
    """What defaults are derived from: the ledger and the records kept about defaults."""

    invoices: list[InvoiceRecord]
    payments: list[PaymentRecord]
    verifications: list[VerificationRecord]
    notices: list[NoticeRecord]
    disputes: list[DisputeRecord]


def _line_of(row: DefaultReportLine) -> ReportLine:
    return ReportLine(
        Transaction(row.transaction_type),
        row.pseudonym,
        row.started_on,
        row.amount,
        row.ended_on,
        row.note,
    )


class PaymentDefaultRegister:
    """Payment histories, default records and report runs of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Customers and their payment history.

    def customer_id(self, pseudonym: str) -> int | None:
        """The id of the customer with this pseudonym, or None."""
        return self.session.scalar(select(Customer.id).where(Customer.pseudonym == pseudonym))

    def payment_history(self, *, as_of: date, customer_id: int | None = None) -> PaymentHistory:
        """Invoices due and payments made by ``as_of``, with the default records (one or all)."""
        invoice_query = (
            select(Invoice.invoice_number, Customer.pseudonym, Invoice.due_on, Invoice.amount)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.due_on <= as_of)
        )
        payment_query = (
            select(Invoice.invoice_number, Payment.paid_on, Payment.amount)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(Payment.paid_on <= as_of, Invoice.due_on <= as_of)
        )
        if customer_id is not None:
            invoice_query = invoice_query.where(Invoice.customer_id == customer_id)
            payment_query = payment_query.where(Invoice.customer_id == customer_id)
        # Core rows, not ORM rows: several times faster for the whole payment history.
        connection = self.session.connection()
        invoices = list(map(InvoiceRecord._make, connection.execute(invoice_query).all()))
        payments = list(map(PaymentRecord._make, connection.execute(payment_query).all()))

        def of_customer(
            query: Select[*_Columns], customer_column: Mapped[int]
        ) -> Select[*_Columns]:
            query = query.join(Customer, Customer.id == customer_column)
            if customer_id is not None:
                query = query.where(customer_column == customer_id)
            return query

        verifications = of_customer(
            select(
                Customer.pseudonym,
                DefaultVerification.started_on,
                DefaultVerification.verified_by,
                DefaultVerification.verified_at,
            ),
            DefaultVerification.customer_id,
        )
        notices = of_customer(
            select(Customer.pseudonym, DefaultNotice.started_on, DefaultNotice.sent_on),
            DefaultNotice.customer_id,
        )
        disputes = of_customer(
            select(
                Customer.pseudonym,
                DefaultDispute.started_on,
                DefaultDispute.raised_at,
                DefaultDispute.resolution,
                DefaultDispute.resolved_at,
            ),
            DefaultDispute.customer_id,
        )
        return PaymentHistory(
            invoices=invoices,
            payments=payments,
            verifications=[
                VerificationRecord(*row) for row in connection.execute(verifications).tuples()
            ],
            notices=[NoticeRecord(*row) for row in connection.execute(notices).tuples()],
            disputes=[DisputeRecord(*row) for row in connection.execute(disputes).tuples()],
        )

    def identities_on_file(self, pseudonyms: Iterable[str]) -> frozenset[str]:
        """The pseudonyms among these whose identification code is in the vault."""
        return pseudonyms_on_file(self.session, pseudonyms)

    def identity_vault(self, key: bytes) -> IdentityVault:
        """The identity vault, opened with ``key``."""
        return IdentityVault(session=self.session, key=key)

    # Verifications, disputes and notices.

    def verification(self, customer_id: int, started_on: date) -> DefaultVerification | None:
        """The verification of a customer's default starting on that day, if recorded."""
        return self.session.scalar(
            select(DefaultVerification).where(
                DefaultVerification.customer_id == customer_id,
                DefaultVerification.started_on == started_on,
            )
        )

    def add_verification(
        self, *, customer_id: int, started_on: date, verified_by: str, verified_at: datetime
    ) -> None:
        """Store that a default was confirmed correct."""
        self.session.add(
            DefaultVerification(
                customer_id=customer_id,
                started_on=started_on,
                verified_by=verified_by,
                verified_at=verified_at,
            )
        )

    def add_dispute(
        self,
        *,
        customer_id: int,
        started_on: date,
        raised_at: datetime,
        recorded_by: str,
        note: str | None,
    ) -> None:
        """Store that the customer disputes a default."""
        self.session.add(
            DefaultDispute(
                customer_id=customer_id,
                started_on=started_on,
                raised_at=raised_at,
                recorded_by=recorded_by,
                note=note,
            )
        )

    def open_disputes(self, customer_id: int, started_on: date) -> list[DefaultDispute]:
        """The unresolved disputes of a customer's default starting on that day."""
        return list(
            self.session.scalars(
                select(DefaultDispute).where(
                    DefaultDispute.customer_id == customer_id,
                    DefaultDispute.started_on == started_on,
                    DefaultDispute.resolution.is_(None),
                )
            ).all()
        )

    def add_notice(
        self,
        *,
        customer_id: int,
        started_on: date,
        sent_on: date,
        recorded_by: str,
        recorded_at: datetime,
    ) -> None:
        """Store the notice sent to the debtor about a default."""
        self.session.add(
            DefaultNotice(
                customer_id=customer_id,
                started_on=started_on,
                sent_on=sent_on,
                recorded_by=recorded_by,
                recorded_at=recorded_at,
            )
        )

    # Report runs.

    def run_for(self, as_of: date) -> DefaultReportRun | None:
        """The report run made for that date, if any."""
        return self.session.scalar(select(DefaultReportRun).where(DefaultReportRun.as_of == as_of))

    def latest_run_date_after(self, as_of: date) -> date | None:
        """The date of the latest report run made for a later date, if any."""
        return self.session.scalar(
            select(DefaultReportRun.as_of)
            .where(DefaultReportRun.as_of > as_of)
            .order_by(DefaultReportRun.as_of.desc())
            .limit(1)
        )

    def lines_before(self, as_of: date) -> list[ReportLine]:
        """The lines of all runs for earlier dates, in the order they were reported."""
        rows = self.session.execute(
            select(DefaultReportLine)
            .join(DefaultReportRun, DefaultReportRun.id == DefaultReportLine.run_id)
            .where(DefaultReportRun.as_of < as_of)
            .order_by(DefaultReportRun.as_of, DefaultReportLine.line_no)
        ).scalars()
        return [_line_of(row) for row in rows]

    def lines_of(self, run_id: str) -> list[ReportLine]:
        """The lines of one run, in file order."""
        rows = self.session.scalars(
            select(DefaultReportLine)
            .where(DefaultReportLine.run_id == run_id)
            .order_by(DefaultReportLine.line_no)
        ).all()
        return [_line_of(row) for row in rows]

    def add_run(
        self,
        *,
        run_id: str,
        as_of: date,
        created_at: datetime,
        created_by: str,
        file_name: str,
        file_sha256: str,
        counts: dict[str, int],
        held_back_count: int,
        lines: Sequence[ReportLine],
    ) -> DefaultReportRun:
        """Store a new report run and its lines, numbered from 1 in file order."""
        run = DefaultReportRun(
            id=run_id,
            as_of=as_of,
            created_at=created_at,
            created_by=created_by,
            file_name=file_name,
            file_sha256=file_sha256,
            new_count=counts["new"],
            correction_count=counts["correction"],
            removal_count=counts["removal"],
            held_back_count=held_back_count,
        )
        self.session.add(run)
        self.session.flush()
        self.session.add_all(
            DefaultReportLine(
                run_id=run.id,
                line_no=number,
                transaction_type=line.transaction.value,
                pseudonym=line.customer,
                started_on=line.started_on,
                amount=line.amount,
                ended_on=line.ended_on,
                note=line.note,
            )
            for number, line in enumerate(lines, start=1)
        )
        return run
