"""Payment defaults from the company's own payment history, and the guards on reporting them.

A payment default (a breach) starts on the due date of the first invoice left unpaid at
the end of that day and lasts while the customer has any overdue unpaid balance; it ends
on the day a payment brings the overdue balance back to zero. Everything is evaluated as
of a report date: payments, verifications, notices and disputes recorded after it do not
count, so a report for a past date can be reproduced.

The guards come from the source documents (verified, at least 30 days since the breach,
less than five years since it ended) and from the bureau register's stricter rules (more
than 45 days overdue, at least 30 EUR, the debtor notified before). A default is reported
only when every guard passes; every failure carries a plain-language reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from scoring.domain.deadlines import add_months
from scoring.domain.errors import InvalidInputError

ZERO = Decimal("0.00")
MIN_DAYS_SINCE_BREACH = 30
MIN_DAYS_OVERDUE_EXCLUSIVE = 45
MIN_AMOUNT_EUR = Decimal("30.00")
YEARS_KEPT_AFTER_END = 5

DefaultKey = tuple[str, date]
"""A default is named by its customer's pseudonym and its start date."""


class Transaction(StrEnum):
    NEW = "new"
    CORRECTION = "correction"
    REMOVAL = "removal"


# Named tuples, not dataclasses: a history holds hundreds of thousands of these rows.
class InvoiceRecord(NamedTuple):
    invoice_number: str
    customer: str
    due_on: date
    amount: Decimal


class PaymentRecord(NamedTuple):
    invoice_number: str
    paid_on: date
    amount: Decimal


@dataclass(frozen=True)
class VerificationRecord:
    customer: str
    started_on: date
    verified_by: str
    verified_at: datetime


@dataclass(frozen=True)
class NoticeRecord:
    customer: str
    started_on: date
    sent_on: date


@dataclass(frozen=True)
class DisputeRecord:
    customer: str
    started_on: date
    raised_at: datetime
    # "rejected" means the default stands; "accepted" means the customer was right.
    resolution: str | None = None
    resolved_at: datetime | None = None

    def blocks_on(self, day: date) -> bool:
        """Whether the dispute stops reporting on ``day``: raised by then and not rejected."""
        if self.raised_at.date() > day:
            return False
        rejected = (
            self.resolution == "rejected"
            and self.resolved_at is not None
            and self.resolved_at.date() <= day
        )
        return not rejected


@dataclass(frozen=True)
class PaymentDefault:
    customer: str
    started_on: date
    ended_on: date | None
    # The debt in default: what is overdue now, or for an ended default its largest balance.
    amount: Decimal
    amount_outstanding: Decimal
    days_overdue: int
    invoice_numbers: tuple[str, ...]
    notice_sent_on: date | None = None
    disputed: bool = False
    verified_by: str | None = None
    verified_at: datetime | None = None

    @property
    def key(self) -> DefaultKey:
        return (self.customer, self.started_on)


@dataclass(frozen=True)
class GuardFailure:
    rule: str
    reason: str


@dataclass(frozen=True)
class RegisterEntry:
    """A default as the bureau holds it from our earlier reports."""

    customer: str
    started_on: date
    amount: Decimal
    ended_on: date | None


@dataclass(frozen=True)
class ReportLine:
    transaction: Transaction
    customer: str
    started_on: date
    amount: Decimal
    ended_on: date | None
    # Why a removal is sent; internal, never in the bureau's file.
    note: str = ""

    @property
    def key(self) -> DefaultKey:
        return (self.customer, self.started_on)


@dataclass(frozen=True)
class HeldBack:
    customer: str
    started_on: date
    ended_on: date | None
    amount: Decimal
    days_overdue: int
    withheld: Transaction
    failures: tuple[GuardFailure, ...]


@dataclass(frozen=True)
class ReportPlan:
    as_of: date
    lines: tuple[ReportLine, ...]
    held_back: tuple[HeldBack, ...]
    # Ended defaults that no later day can make reportable, counted rather than listed.
    never_reportable: int = 0


class DefaultsInputError(InvalidInputError, ValueError):
    """The payment history cannot be read as defaults (for example a payment without invoice)."""


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _breaches(
    invoices: list[InvoiceRecord], payments: list[PaymentRecord], as_of: date
) -> list[PaymentDefault]:
    """The breaches of one customer up to ``as_of``, by sweeping due dates and payment dates."""
    remaining = {invoice.invoice_number: invoice.amount for invoice in invoices}
    due_by_day: dict[date, list[InvoiceRecord]] = defaultdict(list)
    for invoice in invoices:
        if invoice.due_on <= as_of:
            due_by_day[invoice.due_on].append(invoice)
    paid_by_day: dict[date, list[PaymentRecord]] = defaultdict(list)
    for payment in payments:
        if payment.paid_on <= as_of:
            paid_by_day[payment.paid_on].append(payment)
    due_on = {invoice.invoice_number: invoice.due_on for invoice in invoices}

    breaches: list[PaymentDefault] = []
    overdue = ZERO
    start: date | None = None
    peak = ZERO
    in_breach: list[str] = []
    customer = invoices[0].customer
    for day in sorted(set(due_by_day) | set(paid_by_day)):
        # Payments first: an invoice paid on its due date never becomes overdue.
        for payment in paid_by_day.get(day, ()):
            applied = min(payment.amount, remaining[payment.invoice_number])
            remaining[payment.invoice_number] -= applied
            if due_on[payment.invoice_number] < day:
                overdue -= applied
        for invoice in due_by_day.get(day, ()):
            if remaining[invoice.invoice_number] > ZERO:
                overdue += remaining[invoice.invoice_number]
                if start is None:
                    start = day
                    peak = ZERO
                    in_breach = []
                in_breach.append(invoice.invoice_number)
        if start is not None:
            peak = max(peak, overdue)
            if overdue <= ZERO:
                breaches.append(
                    PaymentDefault(
                        customer=customer,
                        started_on=start,
                        ended_on=day,
                        amount=_money(peak),
                        amount_outstanding=ZERO,
                        days_overdue=(day - start).days,
                        invoice_numbers=tuple(in_breach),
                    )
                )
                start = None
                overdue = ZERO
    if start is not None:
        breaches.append(
            PaymentDefault(
                customer=customer,
                started_on=start,
                ended_on=None,
                amount=_money(overdue),
                amount_outstanding=_money(overdue),
                days_overdue=(as_of - start).days,
                invoice_numbers=tuple(in_breach),
            )
        )
    return breaches


def derive_defaults(
    *,
    invoices: Iterable[InvoiceRecord],
    payments: Iterable[PaymentRecord],
    as_of: date,
    verifications: Iterable[VerificationRecord] = (),
    notices: Iterable[NoticeRecord] = (),
    disputes: Iterable[DisputeRecord] = (),
) -> list[PaymentDefault]:
    """Every customer's payment defaults as of ``as_of``, with notice, dispute and verification."""
    by_customer: dict[str, list[InvoiceRecord]] = defaultdict(list)
    customer_of: dict[str, str] = {}
    for invoice in invoices:
        by_customer[invoice.customer].append(invoice)
        customer_of[invoice.invoice_number] = invoice.customer
    payments_of: dict[str, list[PaymentRecord]] = defaultdict(list)
    for payment in payments:
        customer = customer_of.get(payment.invoice_number)
        if customer is None:
            raise DefaultsInputError(
                f"payment towards invoice {payment.invoice_number} has no such invoice"
            )
        payments_of[customer].append(payment)

    verified: dict[DefaultKey, VerificationRecord] = {}
    for record in sorted(verifications, key=lambda r: r.verified_at):
        if record.verified_at.date() <= as_of:
            verified.setdefault((record.customer, record.started_on), record)
    noticed: dict[DefaultKey, date] = {}
    for notice in sorted(notices, key=lambda n: n.sent_on):
        if notice.started_on <= notice.sent_on <= as_of:
            noticed.setdefault((notice.customer, notice.started_on), notice.sent_on)
    disputed = {
        (dispute.customer, dispute.started_on) for dispute in disputes if dispute.blocks_on(as_of)
    }

    found: list[PaymentDefault] = []
    for customer in sorted(by_customer):
        for breach in _breaches(by_customer[customer], payments_of[customer], as_of):
            verification = verified.get(breach.key)
            found.append(
                replace(
                    breach,
                    notice_sent_on=noticed.get(breach.key),
                    disputed=breach.key in disputed,
                    verified_by=verification.verified_by if verification else None,
                    verified_at=verification.verified_at if verification else None,
                )
            )
    return found


def five_year_limit(ended_on: date) -> date:
    """The first day on which a default that ended on ``ended_on`` may no longer be reported."""
    return add_months(ended_on, 12 * YEARS_KEPT_AFTER_END)


def guard_failures(
    default: PaymentDefault, *, as_of: date, identity_on_file: bool = True
) -> tuple[GuardFailure, ...]:
    """Each guard the default fails on ``as_of``; empty when it may be reported."""
    failures: list[GuardFailure] = []
    if default.verified_by is None:
        failures.append(
            GuardFailure(
                "verified",
                "not verified: no operator or reviewer has confirmed the default is correct",
            )
        )
    days_since = (as_of - default.started_on).days
    if days_since < MIN_DAYS_SINCE_BREACH:
        failures.append(
            GuardFailure(
                "thirty_days_since_breach",
                f"only {days_since} days since the breach; at least "
                f"{MIN_DAYS_SINCE_BREACH} must pass",
            )
        )
    if default.days_overdue <= MIN_DAYS_OVERDUE_EXCLUSIVE:
        failures.append(
            GuardFailure(
                "more_than_45_days_overdue",
                f"{default.days_overdue} days overdue; the bureau register needs more than "
                f"{MIN_DAYS_OVERDUE_EXCLUSIVE}",
            )
        )
    if default.amount < MIN_AMOUNT_EUR:
        failures.append(
            GuardFailure(
                "at_least_30_eur",
                f"{default.amount:.2f} EUR is below the register minimum of "
                f"{MIN_AMOUNT_EUR:.2f} EUR",
            )
        )
    if default.notice_sent_on is None:
        failures.append(
            GuardFailure(
                "debtor_notified",
                "no notice to the debtor recorded before the report date; notify them first",
            )
        )
    if default.ended_on is not None and as_of >= five_year_limit(default.ended_on):
        failures.append(
            GuardFailure(
                "within_five_years_of_end",
                f"ended on {default.ended_on.isoformat()}, five years or more before the "
                "report date",
            )
        )
    if default.disputed:
        failures.append(
            GuardFailure("not_disputed", "the customer disputes this default; resolve it first")
        )
    if not identity_on_file:
        failures.append(
            GuardFailure(
                "identity_on_file",
                "the identification code is not in the identity vault; register it first",
            )
        )
    return tuple(failures)


def never_reportable(default: PaymentDefault, *, as_of: date) -> bool:
    """Whether an ended default can no longer pass the guards on any later day.

    Most defaults are a few days' late payment: once paid, their length and amount are
    fixed below the register's thresholds, so listing them on every report helps nobody.
    """
    if default.ended_on is None:
        return False
    return (
        default.days_overdue <= MIN_DAYS_OVERDUE_EXCLUSIVE
        or default.amount < MIN_AMOUNT_EUR
        or as_of >= five_year_limit(default.ended_on)
    )


def register_after(
    register: Mapping[DefaultKey, RegisterEntry], lines: Iterable[ReportLine]
) -> dict[DefaultKey, RegisterEntry]:
    """What the bureau holds once ``lines`` are applied to ``register``."""
    result = dict(register)
    for line in lines:
        if line.transaction is Transaction.REMOVAL:
            result.pop(line.key, None)
        else:
            result[line.key] = RegisterEntry(
                line.customer, line.started_on, line.amount, line.ended_on
            )
    return result


def _line_for(entry: RegisterEntry, transaction: Transaction) -> ReportLine:
    return ReportLine(transaction, entry.customer, entry.started_on, entry.amount, entry.ended_on)


def _removal_reason(default: PaymentDefault | None, as_of: date) -> str | None:
    if default is None:
        return "no longer found in the payment history"
    if default.disputed:
        return "the customer disputes it"
    if default.ended_on is not None and as_of >= five_year_limit(default.ended_on):
        return "five years have passed since it ended"
    return None


def plan_report(
    *,
    defaults: Iterable[PaymentDefault],
    register: Mapping[DefaultKey, RegisterEntry],
    as_of: date,
    identities: frozenset[str] | set[str],
) -> ReportPlan:
    """The lines to send (new, correction, removal) and what is held back, and why."""
    current = {default.key: default for default in defaults}
    lines: list[ReportLine] = []
    held: list[HeldBack] = []

    def hold(
        default: PaymentDefault, withheld: Transaction, failures: tuple[GuardFailure, ...]
    ) -> None:
        held.append(
            HeldBack(
                customer=default.customer,
                started_on=default.started_on,
                ended_on=default.ended_on,
                amount=default.amount,
                days_overdue=default.days_overdue,
                withheld=withheld,
                failures=failures,
            )
        )

    never = 0
    for key, default in current.items():
        if key in register:
            continue
        if never_reportable(default, as_of=as_of):
            never += 1
            continue
        failures = guard_failures(
            default, as_of=as_of, identity_on_file=default.customer in identities
        )
        if failures:
            hold(default, Transaction.NEW, failures)
        else:
            lines.append(
                ReportLine(
                    Transaction.NEW,
                    default.customer,
                    default.started_on,
                    default.amount,
                    default.ended_on,
                )
            )

    for key, entry in register.items():
        reported = current.get(key)
        reason = _removal_reason(reported, as_of)
        if reason is not None:
            line = replace(_line_for(entry, Transaction.REMOVAL), note=reason)
        elif reported is not None and reported.ended_on is not None and entry.ended_on is None:
            line = replace(
                _line_for(entry, Transaction.CORRECTION),
                ended_on=reported.ended_on,
                note="paid in full",
            )
        else:
            continue
        if entry.customer in identities:
            lines.append(line)
        else:
            missing = GuardFailure(
                "identity_on_file",
                "the identification code is not in the identity vault; register it first",
            )
            shown = reported or PaymentDefault(
                entry.customer, entry.started_on, entry.ended_on, entry.amount, ZERO, 0, ()
            )
            hold(shown, line.transaction, (missing,))

    order = {Transaction.NEW: 0, Transaction.CORRECTION: 1, Transaction.REMOVAL: 2}
    lines.sort(key=lambda line: (order[line.transaction], line.started_on, line.customer))
    held.sort(key=lambda item: (item.started_on, item.customer, item.withheld))
    return ReportPlan(
        as_of=as_of, lines=tuple(lines), held_back=tuple(held), never_reportable=never
    )
