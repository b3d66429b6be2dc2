"""The decision repository: every statement the decision path runs, and their dialect branches.

The hot path (read check, history, write check, inserts) runs :class:`Prepared` statements
straight on the connection's driver; a replayed answer and ``GET /v1/decisions/{id}`` read
a stored decision through the ORM (:meth:`DecisionStore.stored`). The service above sees
plain values: rows to insert (:class:`DecisionRows`), what a check found
(:class:`ReadCheck`, :class:`WriteCheck`) and a stored decision (:class:`StoredDecision`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    Connection,
    Float,
    Integer,
    bindparam,
    cast,
    insert,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.features import CustomerHistory
from scoring.storage import tables as t
from scoring.storage.prepared import Prepared
from scoring.storage.sql import day_number
from scoring.storage.tables_decisions import DecisionInput

# A unique key that a concurrent writer took first (application, key, customer, report).
# Named here so the service catches it without reaching for SQLAlchemy itself.
UniqueKeyConflict = IntegrityError


class ReadCheck(NamedTuple):
    """What the read check finds: the applicant, and an earlier decision of the request."""

    customer_id: int | None
    objected_at: datetime | None  # when the customer objected to profiling
    earlier_application_id: int | None
    idempotency_hash: str | None


class WriteCheck(NamedTuple):
    """What the check in the writer's turn finds before anything is inserted."""

    customer_id: int | None
    earlier_application_id: int | None
    idempotency_hash: str | None
    report_row_id: int | None
    report_customer_id: int | None


@dataclass(frozen=True)
class DecisionRows:
    """The rows of one decision, as plain values, referring to each other by natural keys."""

    pseudonym: str
    client_id: str
    external_id: str
    key: str | None
    report: dict[str, Any] | None
    default_entries: list[dict[str, Any]]
    application: dict[str, Any]
    decision: dict[str, Any]
    decision_input: dict[str, Any]
    idempotency: dict[str, Any] | None


@dataclass(frozen=True)
class StoredDecision:
    """A stored decision row with what its view needs: application id, facts, bureau report,
    the review case it belongs to and the decision that replaced it."""

    decision: t.Decision
    external_id: str
    facts: dict[str, Any]
    report: t.BureauReport | None
    case: t.ReviewCase | None = None
    superseded_by: t.Decision | None = None


class DecisionStore:
    """The decisions, applications, customers' histories and idempotency records of one client.

    Works on ``connection`` (its transaction, or none under ``autocommit``); ``session`` is
    the ORM session to read stored decisions with, else one joined to ``connection``.
    """

    def __init__(self, connection: Connection, *, session: Session | None = None) -> None:
        self._connection = connection
        self._session = session

    def read_check(
        self, *, pseudonym: str, client_id: str, external_id: str, key: str | None
    ) -> ReadCheck:
        """In one query: the customer, their objection, and any earlier decision of the request."""
        return ReadCheck(
            *_READ_CHECK.one(
                self._connection,
                {
                    "pseudonym": pseudonym,
                    "client_id": client_id,
                    "external_id": external_id,
                    "key": key,
                },
            )
        )

    def customer_history(self, customer_id: int) -> CustomerHistory:
        """The customer's invoices and payments as the arrays the feature kernel reads."""
        rows = _HISTORY_OF_CUSTOMER.all(self._connection, {"customer_id": customer_id})
        return _customer_history(rows)

    def application_decided(self, *, client_id: str, external_id: str) -> bool:
        """Whether this client's application id is stored (decided) already."""
        row = _APPLICATION_ROW.first(
            self._connection, {"client_id": client_id, "external_id": external_id}
        )
        return row is not None

    def idempotency_record(self, *, client_id: str, key: str) -> tuple[str, str | None] | None:
        """The request hash and decision id stored under this client's key, or None."""
        record = _IDEMPOTENCY_ROW.first(self._connection, {"client_id": client_id, "key": key})
        return None if record is None else (record[0], record[1])

    def write_check(self, rows: DecisionRows) -> WriteCheck:
        """In one query, in the writer's turn: earlier decisions, the customer, the report."""
        return WriteCheck(
            *_WRITE_CHECK.one(
                self._connection,
                {
                    "pseudonym": rows.pseudonym,
                    "client_id": rows.client_id,
                    "external_id": rows.external_id,
                    "key": rows.key,
                    "report_id": rows.report["report_id"] if rows.report else None,
                },
            )
        )

    def insert(self, rows: DecisionRows, *, customer_known: bool, report_known: bool) -> None:
        """The decision's rows but its log entry and review case.

        Rows refer to the customer, report and application by their natural keys
        (subqueries), not by ids read back, so in a pipeline they all go out without
        waiting for answers.
        """
        connection = self._connection
        report_id = rows.report["report_id"] if rows.report else None
        if not customer_known:
            # A new applicant: known only by pseudonym, never a customer so far (a thin file).
            _INSERT_CUSTOMER.run(connection, {"pseudonym": rows.pseudonym, "customer_since": None})
        if rows.report is not None and not report_known:
            _INSERT_REPORT.run(connection, {**rows.report, "pseudonym": rows.pseudonym})
            for entry in rows.default_entries:
                _INSERT_DEFAULT_ENTRY.run(connection, {**entry, "report_id": report_id})
        _INSERT_APPLICATION.run(
            connection, {**rows.application, "pseudonym": rows.pseudonym, "report_id": report_id}
        )
        _INSERT_DECISION.run(
            connection,
            {**rows.decision, "client_id": rows.client_id, "external_id": rows.external_id},
        )
        _INSERT_DECISION_INPUT.run(connection, rows.decision_input)
        if rows.idempotency is not None:
            _INSERT_IDEMPOTENCY.run(connection, rows.idempotency)

    def stored(self, *, decision_id: str, client_id: str) -> StoredDecision | None:
        """The stored decision ``decision_id`` of ``client_id``; None if unknown or another's."""
        if self._session is not None:
            return _stored(self._session, decision_id=decision_id, client_id=client_id)
        with joined_session(self._connection) as session:
            return _stored(session, decision_id=decision_id, client_id=client_id)


def joined_session(connection: Connection) -> Session:
    """An ORM session inside ``connection``'s transaction; closing it leaves that open."""
    return Session(bind=connection, expire_on_commit=False, autoflush=True)


def _stored(session: Session, *, decision_id: str, client_id: str) -> StoredDecision | None:
    row = session.execute(
        select(t.Decision, t.Application.external_id, t.Application.client_id, DecisionInput.facts)
        .join(t.Application, t.Application.id == t.Decision.application_id)
        .outerjoin(DecisionInput, DecisionInput.decision_id == t.Decision.id)
        .where(t.Decision.id == decision_id)
    ).first()
    if row is None or row.client_id != client_id:
        return None
    decision = row.Decision
    report = None
    if decision.bureau_report_id is not None:
        report = session.scalar(
            select(t.BureauReport).where(t.BureauReport.report_id == decision.bureau_report_id)
        )
    application = session.get(t.Application, decision.application_id)
    assert application is not None  # the decision's foreign key
    facts = row.facts or {
        "amount_eur": float(application.amount),
        "term_months": application.term_months,
        "product_category": application.product_category,
    }
    # The case the decision belongs to: the one about it (newest first), else the one that
    # made it.
    case = session.scalar(
        select(t.ReviewCase)
        .where(
            (t.ReviewCase.decision_id == decision.id)
            | (t.ReviewCase.resulting_decision_id == decision.id)
        )
        .order_by(t.ReviewCase.received_at.desc(), t.ReviewCase.id)
        .limit(1)
    )
    superseded_by = session.scalar(
        select(t.Decision).where(t.Decision.supersedes_decision_id == decision.id).limit(1)
    )
    return StoredDecision(decision, row.external_id, facts, report, case, superseded_by)


def _customer_history(rows: Sequence[Any]) -> CustomerHistory:
    """Database rows (kind, then numbers, NULL as None) as the arrays the feature kernel reads."""
    if not rows:
        return CustomerHistory.empty()
    # numpy reads None as NaN in a float array: a missing date is a missing day number. Rows
    # become plain tuples first: numpy reads a result row item by item, thirty times slower.
    table = np.array([tuple(row) for row in rows], dtype=np.float64)
    is_payment = table[:, 0] == 1.0
    invoices = table[~is_payment]
    paid = table[is_payment]
    if not len(invoices):
        return CustomerHistory.empty()
    where = {invoice_id: i for i, invoice_id in enumerate(invoices[:, 1].tolist())}
    return CustomerHistory(
        issued=invoices[:, 2],
        due=invoices[:, 3],
        amount=invoices[:, 4],
        paid_full=invoices[:, 5],
        reminders=invoices[:, 6],
        collection=invoices[:, 7],
        pay_invoice=np.asarray([where[i] for i in paid[:, 1].tolist()], dtype=np.intp),
        paid_on=paid[:, 2],
        pay_amount=paid[:, 3],
    )


_IDEMPOTENCY = t.table_of(t.IdempotencyRecord)
_APPLICATIONS = t.table_of(t.Application)
_CUSTOMERS = t.table_of(t.Customer)
_INVOICES = t.table_of(t.Invoice)
_PAYMENTS = t.table_of(t.Payment)
_BUREAU_REPORTS = t.table_of(t.BureauReport)

_IDEMPOTENCY_RECORD = select(_IDEMPOTENCY.c.request_hash, _IDEMPOTENCY.c.decision_id).where(
    _IDEMPOTENCY.c.client_id == bindparam("client_id"),
    _IDEMPOTENCY.c.idempotency_key == bindparam("key"),
)
_APPLICATION_OF_CLIENT = select(_APPLICATIONS.c.id).where(
    _APPLICATIONS.c.client_id == bindparam("client_id"),
    _APPLICATIONS.c.external_id == bindparam("external_id"),
)
_CUSTOMER_BY_PSEUDONYM = select(_CUSTOMERS.c.id).where(
    _CUSTOMERS.c.pseudonym == bindparam("pseudonym")
)
_IDEMPOTENCY_ROW = Prepared(_IDEMPOTENCY_RECORD)
_APPLICATION_ROW = Prepared(_APPLICATION_OF_CLIENT)

# Step 1, read: one query tells whether this application or key was decided before and who
# the applicant is; only a retry or a conflict reads further.
_READ_CHECK = Prepared(
    select(
        _CUSTOMER_BY_PSEUDONYM.scalar_subquery().label("customer_id"),
        _CUSTOMER_BY_PSEUDONYM.with_only_columns(_CUSTOMERS.c.objected_to_profiling_at)
        .scalar_subquery()
        .label("objected_at"),
        _APPLICATION_OF_CLIENT.scalar_subquery().label("application_id"),
        _IDEMPOTENCY_RECORD.with_only_columns(_IDEMPOTENCY.c.request_hash)
        .scalar_subquery()
        .label("idempotency_hash"),
    )
)
# Every column is read as a number, as the feature kernel takes it: dates as day numbers,
# amounts as floats (the same double float(Decimal) gives), so rows become arrays at once.
# Invoices (kind 0) and their payments (kind 1) come in one statement, so they are one
# snapshot without a transaction: a payment never arrives without its invoice.
_HISTORY_OF_CUSTOMER = Prepared(
    union_all(
        select(
            literal_column("0", Integer).label("kind"), _INVOICES.c.id,
            day_number(_INVOICES.c.issued_on), day_number(_INVOICES.c.due_on),
            cast(_INVOICES.c.amount, Float), day_number(_INVOICES.c.paid_in_full_on),
            cast(_INVOICES.c.reminders_sent, Float), day_number(_INVOICES.c.sent_to_collection_on),
        ).where(_INVOICES.c.customer_id == bindparam("customer_id")),
        select(
            literal_column("1", Integer), _PAYMENTS.c.invoice_id, day_number(_PAYMENTS.c.paid_on),
            cast(_PAYMENTS.c.amount, Float), null(), null(), null(), null(),
        )
        .join(_INVOICES, _INVOICES.c.id == _PAYMENTS.c.invoice_id)
        .where(_INVOICES.c.customer_id == bindparam("customer_id")),
    )
)  # fmt: skip

# Step 3, store.
_REPORT_ROW = select(_BUREAU_REPORTS.c.id, _BUREAU_REPORTS.c.customer_id).where(
    _BUREAU_REPORTS.c.report_id == bindparam("report_id")
)
_CUSTOMER_ID = _CUSTOMER_BY_PSEUDONYM.scalar_subquery()
_REPORT_ROW_ID = _REPORT_ROW.with_only_columns(_BUREAU_REPORTS.c.id).scalar_subquery()
_INSERT_CUSTOMER = Prepared(insert(_CUSTOMERS))
_INSERT_REPORT = Prepared(insert(_BUREAU_REPORTS).values(customer_id=_CUSTOMER_ID))
_INSERT_DEFAULT_ENTRY = Prepared(
    insert(t.table_of(t.BureauDefaultEntry)).values(bureau_report_id=_REPORT_ROW_ID)
)
_INSERT_APPLICATION = Prepared(
    insert(_APPLICATIONS).values(customer_id=_CUSTOMER_ID, bureau_report_id=_REPORT_ROW_ID)
)
_INSERT_DECISION = Prepared(
    insert(t.table_of(t.Decision)).values(application_id=_APPLICATION_OF_CLIENT.scalar_subquery())
)
_INSERT_DECISION_INPUT = Prepared(insert(t.table_of(DecisionInput)))
_INSERT_IDEMPOTENCY = Prepared(insert(_IDEMPOTENCY))
_WRITE_CHECK = Prepared(
    select(
        _CUSTOMER_ID.label("customer_id"),
        _APPLICATION_OF_CLIENT.scalar_subquery().label("application_id"),
        _IDEMPOTENCY_RECORD.with_only_columns(_IDEMPOTENCY.c.request_hash)
        .scalar_subquery()
        .label("idempotency_hash"),
        _REPORT_ROW_ID.label("report_row_id"),
        _REPORT_ROW.with_only_columns(_BUREAU_REPORTS.c.customer_id)
        .scalar_subquery()
        .label("report_customer_id"),
    )
)
