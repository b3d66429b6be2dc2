"""Payment-default reporting to the bureau: derive, guard, record, and write the report file.

The domain (``scoring.domain.defaults``) decides; this module loads the rows, keeps the
who-and-when records (verifications, disputes, notices), and writes a report run: the
bureau's file and the held-back list are written to temporary files and renamed into
place inside the transaction that stores the run, so a failure leaves neither a partial
file nor a run row. Running again for the same date reproduces the same file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scoring.domain.defaults import (
    DefaultKey,
    DefaultsInputError,
    DisputeRecord,
    GuardFailure,
    InvoiceRecord,
    NoticeRecord,
    PaymentDefault,
    PaymentRecord,
    RegisterEntry,
    ReportLine,
    ReportPlan,
    Transaction,
    VerificationRecord,
    derive_defaults,
    guard_failures,
    never_reportable,
    plan_report,
    register_after,
)
from scoring.domain.errors import ConflictError, InvalidInputError, NotFoundError, UnavailableError
from scoring.service import audit
from scoring.service.errors import ServiceError
from scoring.storage.db import UnitOfWork
from scoring.storage.identity_vault import IdentityVault, pseudonyms_on_file
from scoring.storage.tables import Customer, Invoice, Payment
from scoring.storage.tables_defaults import (
    DefaultDispute,
    DefaultNotice,
    DefaultReportLine,
    DefaultReportRun,
    DefaultVerification,
)

BUREAU_COLUMNS = (
    "transaction",
    "identification_code",
    "amount_eur",
    "default_started_on",
    "default_ended_on",
)
HELD_BACK_COLUMNS = (
    "customer_pseudonym",
    "default_started_on",
    "default_ended_on",
    "amount_eur",
    "days_overdue",
    "withheld_transaction",
    "rules",
    "reasons",
)
AUDIT_ENTITY_DEFAULT = "payment_default"
AUDIT_ENTITY_RUN = "default_report_run"


class DefaultReportingError(ServiceError):
    """A default-reporting request that cannot be carried out; nothing was changed."""

    code = "default_reporting_error"


class ReportDateInFuture(DefaultReportingError, InvalidInputError):
    code = "report_date_in_future"


class ReportOutOfOrder(DefaultReportingError, ConflictError):
    code = "report_out_of_order"


class ReportAlreadyMade(DefaultReportingError, ConflictError):
    code = "report_already_made"


class CustomerNotFound(DefaultReportingError, NotFoundError):
    code = "customer_not_found"


class DefaultNotFound(DefaultReportingError, NotFoundError):
    code = "default_not_found"


class DatabaseUnreadable(DefaultReportingError, UnavailableError):
    code = "database_unreadable"


@dataclass(frozen=True)
class DefaultView:
    default: PaymentDefault
    failures: tuple[GuardFailure, ...]

    @property
    def reportable(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Verification:
    customer: str
    started_on: date
    verified_by: str
    verified_at: datetime
    newly_recorded: bool


@dataclass(frozen=True)
class ReportRun:
    run_id: str
    as_of: date
    report_file: Path
    held_back_file: Path
    counts: dict[str, int]
    held_back_count: int
    held_back_by_rule: dict[str, int] = field(default_factory=dict)
    never_reportable: int = 0
    repeated: bool = False


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _database_unreadable(error: SQLAlchemyError) -> DatabaseUnreadable:
    return DatabaseUnreadable(
        f"cannot read the database: {_first_line(error)}; check INSTALLMENT_DATABASE_URL "
        "and run `installment db-upgrade`"
    )


def _customer_id(session: Session, pseudonym: str) -> int:
    customer_id = session.scalar(select(Customer.id).where(Customer.pseudonym == pseudonym))
    if customer_id is None:
        raise CustomerNotFound(f"no customer with pseudonym {pseudonym}", field="customer")
    return customer_id


def _load_defaults(
    session: Session, *, as_of: date, customer_id: int | None = None
) -> list[PaymentDefault]:
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
    connection = session.connection()
    invoices = list(map(InvoiceRecord._make, connection.execute(invoice_query).all()))
    payments = list(map(PaymentRecord._make, connection.execute(payment_query).all()))

    def rows(table: type[Any], *columns: str) -> Sequence[Any]:
        query = select(Customer.pseudonym, *(getattr(table, name) for name in columns)).join(
            Customer, Customer.id == table.customer_id
        )
        if customer_id is not None:
            query = query.where(table.customer_id == customer_id)
        return connection.execute(query).all()

    verifications = [
        VerificationRecord(*row)
        for row in rows(DefaultVerification, "started_on", "verified_by", "verified_at")
    ]
    notices = [NoticeRecord(*row) for row in rows(DefaultNotice, "started_on", "sent_on")]
    disputes = [
        DisputeRecord(*row)
        for row in rows(DefaultDispute, "started_on", "raised_at", "resolution", "resolved_at")
    ]
    try:
        return derive_defaults(
            invoices=invoices,
            payments=payments,
            as_of=as_of,
            verifications=verifications,
            notices=notices,
            disputes=disputes,
        )
    except DefaultsInputError as error:
        raise DefaultReportingError(f"the payment history cannot be read: {error}") from None


def _check_report_date(as_of: date, today: date) -> None:
    if as_of > today:
        raise ReportDateInFuture(
            f"report date {as_of.isoformat()} is in the future (today is {today.isoformat()}); "
            "defaults are reported only for days that have passed",
            field="as_of",
        )


def list_defaults(
    *,
    uow: UnitOfWork,
    as_of: date,
    today: date,
    customer: str | None = None,
    include_never_reportable: bool = False,
) -> list[DefaultView]:
    """The derived defaults as of ``as_of`` with the guards each fails (none when reportable)."""
    _check_report_date(as_of, today)
    try:
        with uow:
            session = uow.session
            customer_id = _customer_id(session, customer) if customer else None
            defaults = [
                default
                for default in _load_defaults(session, as_of=as_of, customer_id=customer_id)
                if include_never_reportable or not never_reportable(default, as_of=as_of)
            ]
            known = pseudonyms_on_file(session, (d.customer for d in defaults))
    except SQLAlchemyError as error:
        raise _database_unreadable(error) from None
    return [
        DefaultView(
            default,
            guard_failures(default, as_of=as_of, identity_on_file=default.customer in known),
        )
        for default in defaults
    ]


def _existing_default(session: Session, *, pseudonym: str, started_on: date, today: date) -> int:
    """The customer id, once the customer is found to have a default starting on that day."""
    customer_id = _customer_id(session, pseudonym)
    starts = [
        default.started_on
        for default in _load_defaults(session, as_of=today, customer_id=customer_id)
    ]
    if started_on not in starts:
        known = ", ".join(day.isoformat() for day in starts) or "none"
        raise DefaultNotFound(
            f"customer {pseudonym} has no payment default starting {started_on.isoformat()} "
            f"(defaults start on: {known})",
            field="start",
        )
    return customer_id


def _default_entity_id(pseudonym: str, started_on: date) -> str:
    # Pseudonyms are 64 hex characters, as long as the column; a digest keeps the date in.
    return hashlib.sha256(f"{pseudonym}:{started_on.isoformat()}".encode()).hexdigest()


def _audit_default(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    pseudonym: str,
    started_on: date,
    details: dict[str, object],
) -> None:
    audit.append(
        session=session,
        at=now,
        actor=actor,
        action=action,
        entity_type=AUDIT_ENTITY_DEFAULT,
        entity_id=_default_entity_id(pseudonym, started_on),
        details={"customer": pseudonym, "started_on": started_on, **details},
    )


def _check_actor(by: str) -> str:
    name = by.strip()
    if not name:
        raise DefaultReportingError("say who records this (--by NAME)", field="by")
    if len(name) > 100:
        raise DefaultReportingError("the name given with --by is longer than 100 characters")
    return name


def verify_default(
    *, uow: UnitOfWork, customer: str, started_on: date, by: str, now: datetime
) -> Verification:
    """Record that a reviewer or operator confirmed the default is correct (once)."""
    by = _check_actor(by)
    try:
        with uow:
            session = uow.session
            customer_id = _existing_default(
                session, pseudonym=customer, started_on=started_on, today=now.date()
            )
            existing = session.scalar(
                select(DefaultVerification).where(
                    DefaultVerification.customer_id == customer_id,
                    DefaultVerification.started_on == started_on,
                )
            )
            if existing is not None:
                return Verification(
                    customer, started_on, existing.verified_by, existing.verified_at, False
                )
            session.add(
                DefaultVerification(
                    customer_id=customer_id, started_on=started_on, verified_by=by, verified_at=now
                )
            )
            _audit_default(
                session,
                now=now,
                actor=by,
                action="default.verified",
                pseudonym=customer,
                started_on=started_on,
                details={},
            )
    except SQLAlchemyError as error:
        raise _database_unreadable(error) from None
    return Verification(customer, started_on, by, now, True)


def record_dispute(
    *,
    uow: UnitOfWork,
    customer: str,
    started_on: date,
    by: str,
    now: datetime,
    note: str | None = None,
) -> None:
    """Record that the customer disputes the default; it is held back (or removed) from now."""
    by = _check_actor(by)
    try:
        with uow:
            session = uow.session
            customer_id = _existing_default(
                session, pseudonym=customer, started_on=started_on, today=now.date()
            )
            session.add(
                DefaultDispute(
                    customer_id=customer_id,
                    started_on=started_on,
                    raised_at=now,
                    recorded_by=by,
                    note=note,
                )
            )
            _audit_default(
                session,
                now=now,
                actor=by,
                action="default.disputed",
                pseudonym=customer,
                started_on=started_on,
                details={},
            )
    except SQLAlchemyError as error:
        raise _database_unreadable(error) from None


def resolve_dispute(
    *,
    uow: UnitOfWork,
    customer: str,
    started_on: date,
    resolution: str,
    by: str,
    now: datetime,
) -> int:
    """Close the open disputes of a default: ``rejected`` (it stands) or ``accepted``."""
    by = _check_actor(by)
    if resolution not in ("rejected", "accepted"):
        raise DefaultReportingError(
            f"resolution {resolution!r} is not 'rejected' (the default stands) or 'accepted'",
            field="resolution",
        )
    try:
        with uow:
            session = uow.session
            customer_id = _customer_id(session, customer)
            open_disputes = session.scalars(
                select(DefaultDispute).where(
                    DefaultDispute.customer_id == customer_id,
                    DefaultDispute.started_on == started_on,
                    DefaultDispute.resolution.is_(None),
                )
            ).all()
            if not open_disputes:
                raise DefaultNotFound(
                    f"customer {customer} has no open dispute of the default starting "
                    f"{started_on.isoformat()}",
                    field="start",
                )
            for dispute in open_disputes:
                dispute.resolution = resolution
                dispute.resolved_at = now
                dispute.resolved_by = by
            _audit_default(
                session,
                now=now,
                actor=by,
                action=f"default.dispute_{resolution}",
                pseudonym=customer,
                started_on=started_on,
                details={"disputes": len(open_disputes)},
            )
    except SQLAlchemyError as error:
        raise _database_unreadable(error) from None
    return len(open_disputes)


def record_notice(
    *,
    uow: UnitOfWork,
    customer: str,
    started_on: date,
    sent_on: date,
    by: str,
    now: datetime,
) -> None:
    """Record the notice sent to the debtor before the default may be reported."""
    by = _check_actor(by)
    if sent_on > now.date():
        raise DefaultReportingError(
            f"notice date {sent_on.isoformat()} is in the future", field="sent_on"
        )
    if sent_on < started_on:
        raise DefaultReportingError(
            f"notice date {sent_on.isoformat()} is before the default started "
            f"({started_on.isoformat()}); a notice is about a default that exists",
            field="sent_on",
        )
    try:
        with uow:
            session = uow.session
            customer_id = _existing_default(
                session, pseudonym=customer, started_on=started_on, today=now.date()
            )
            session.add(
                DefaultNotice(
                    customer_id=customer_id,
                    started_on=started_on,
                    sent_on=sent_on,
                    recorded_by=by,
                    recorded_at=now,
                )
            )
            _audit_default(
                session,
                now=now,
                actor=by,
                action="default.notice_recorded",
                pseudonym=customer,
                started_on=started_on,
                details={"sent_on": sent_on},
            )
    except SQLAlchemyError as error:
        raise _database_unreadable(error) from None


def _register_before(session: Session, as_of: date) -> dict[DefaultKey, RegisterEntry]:
    """What the bureau holds from all runs for earlier dates."""
    rows = session.execute(
        select(DefaultReportLine)
        .join(DefaultReportRun, DefaultReportRun.id == DefaultReportLine.run_id)
        .where(DefaultReportRun.as_of < as_of)
        .order_by(DefaultReportRun.as_of, DefaultReportLine.line_no)
    ).scalars()
    return register_after({}, (_line_of(row) for row in rows))


def _line_of(row: DefaultReportLine) -> ReportLine:
    return ReportLine(
        Transaction(row.transaction_type),
        row.pseudonym,
        row.started_on,
        row.amount,
        row.ended_on,
        row.note,
    )


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _bureau_file_text(lines: Sequence[ReportLine], vault: IdentityVault) -> str:
    # The only place codes are decrypted; they live in this text until it is on disk.
    return _csv_text(
        BUREAU_COLUMNS,
        (
            (
                line.transaction.value,
                vault.code_for(line.customer),
                f"{line.amount:.2f}",
                line.started_on.isoformat(),
                line.ended_on.isoformat() if line.ended_on else "",
            )
            for line in lines
        ),
    )


def _held_back_file_text(plan: ReportPlan) -> str:
    return _csv_text(
        HELD_BACK_COLUMNS,
        (
            (
                item.customer,
                item.started_on.isoformat(),
                item.ended_on.isoformat() if item.ended_on else "",
                f"{item.amount:.2f}",
                str(item.days_overdue),
                item.withheld.value,
                ";".join(failure.rule for failure in item.failures),
                "; ".join(failure.reason for failure in item.failures),
            )
            for item in plan.held_back
        ),
    )


def _write_temporary(folder: Path, name: str, text: str) -> Path:
    temporary = folder / f".{name}.{uuid.uuid4().hex}.tmp"
    # Owner-only: the bureau's file holds identification codes.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def report_file_names(as_of: date) -> tuple[str, str]:
    """The bureau file's name and the held-back list's name for a report date."""
    stem = f"payment-defaults-{as_of.isoformat()}"
    return f"{stem}.csv", f"{stem}-held-back.csv"


def _same_lines(stored: Sequence[DefaultReportLine], planned: Sequence[ReportLine]) -> bool:
    return [_line_of(row) for row in stored] == list(planned)


def report_defaults(
    *,
    uow: UnitOfWork,
    as_of: date,
    out_dir: Path,
    vault_key: bytes,
    today: date,
    now: datetime,
    actor: str = "report-defaults",
) -> ReportRun:
    """Write the bureau's report file for ``as_of`` and the held-back list, as one run."""
    _check_report_date(as_of, today)
    bureau_name, held_name = report_file_names(as_of)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DefaultReportingError(
            f"cannot create the report folder {out_dir}: {error.strerror}"
        ) from None
    temporaries: list[Path] = []
    placed: list[Path] = []
    existing: DefaultReportRun | None = None
    try:
        with uow:
            session = uow.session
            existing = session.scalar(
                select(DefaultReportRun).where(DefaultReportRun.as_of == as_of)
            )
            later = session.scalar(
                select(DefaultReportRun.as_of)
                .where(DefaultReportRun.as_of > as_of)
                .order_by(DefaultReportRun.as_of.desc())
                .limit(1)
            )
            if existing is None and later is not None:
                raise ReportOutOfOrder(
                    f"a report for {later.isoformat()} was already made; reports go forward "
                    f"in time, so {as_of.isoformat()} can no longer get a first report",
                    field="as_of",
                )
            register = _register_before(session, as_of)
            defaults = _load_defaults(session, as_of=as_of)
            vault = IdentityVault(session=session, key=vault_key)
            identities = vault.known({d.customer for d in defaults} | {c for c, _ in register})
            plan = plan_report(
                defaults=defaults, register=register, as_of=as_of, identities=identities
            )
            bureau_text = _bureau_file_text(plan.lines, vault)
            held_text = _held_back_file_text(plan)
            digest = hashlib.sha256(bureau_text.encode()).hexdigest()
            counts = Counter(line.transaction.value for line in plan.lines)
            counts_out = {kind.value: counts.get(kind.value, 0) for kind in Transaction}

            if existing is not None:
                stored = session.scalars(
                    select(DefaultReportLine)
                    .where(DefaultReportLine.run_id == existing.id)
                    .order_by(DefaultReportLine.line_no)
                ).all()
                if not _same_lines(stored, plan.lines) or digest != existing.file_sha256:
                    raise ReportAlreadyMade(
                        f"the report for {as_of.isoformat()} was made on "
                        f"{existing.created_at:%Y-%m-%d %H:%M} UTC and the records for that "
                        "date have changed since; it is kept as sent, and the changes go "
                        "into the next report",
                        field="as_of",
                    )
                run = existing
            else:
                run = DefaultReportRun(
                    id=str(uuid.uuid4()),
                    as_of=as_of,
                    created_at=now,
                    created_by=actor,
                    file_name=bureau_name,
                    file_sha256=digest,
                    new_count=counts_out["new"],
                    correction_count=counts_out["correction"],
                    removal_count=counts_out["removal"],
                    held_back_count=len(plan.held_back),
                )
                session.add(run)
                session.flush()
                session.add_all(
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
                    for number, line in enumerate(plan.lines, start=1)
                )
            by_rule = Counter(failure.rule for item in plan.held_back for failure in item.failures)
            audit.append(
                session=session,
                at=now,
                actor=actor,
                action="default_report.repeated" if existing else "default_report.made",
                entity_type=AUDIT_ENTITY_RUN,
                entity_id=run.id,
                details={
                    "as_of": as_of,
                    "file": bureau_name,
                    "file_sha256": digest,
                    "lines": counts_out,
                    "held_back": len(plan.held_back),
                    "held_back_by_rule": dict(sorted(by_rule.items())),
                    "never_reportable": plan.never_reportable,
                },
            )
            try:
                for name, text in ((bureau_name, bureau_text), (held_name, held_text)):
                    temporaries.append(_write_temporary(out_dir, name, text))
                for temporary, name in zip(temporaries, (bureau_name, held_name), strict=True):
                    final = out_dir / name
                    os.replace(temporary, final)
                    placed.append(final)
            except OSError as error:
                raise DefaultReportingError(
                    f"cannot write the report into {out_dir}: {error.strerror or error}"
                ) from None
            # Leaving the block commits the run; the files are already complete and in place.
    except BaseException as error:
        # A repeated run's files were replaced by identical ones, so they stay.
        _discard(temporaries, placed if existing is None else [])
        if isinstance(error, SQLAlchemyError):
            raise _database_unreadable(error) from None
        raise
    return ReportRun(
        run_id=run.id,
        as_of=as_of,
        report_file=out_dir / bureau_name,
        held_back_file=out_dir / held_name,
        counts=counts_out,
        held_back_count=len(plan.held_back),
        held_back_by_rule=dict(sorted(by_rule.items())),
        never_reportable=plan.never_reportable,
        repeated=existing is not None,
    )


def _discard(temporaries: Iterable[Path], placed: Iterable[Path]) -> None:
    """Remove what a failed run wrote, so no file exists without its stored run."""
    for path in [*temporaries, *placed]:
        path.unlink(missing_ok=True)
