"""Customers' payment defaults as derived from their payment history: what every use case reads."""

from __future__ import annotations

from datetime import date

from scoring.domain.payment_defaults import DefaultsInputError, PaymentDefault, derive_defaults
from scoring.service.payment_default_reporting.errors import (
    CustomerNotFound,
    DefaultNotFound,
    DefaultReportingError,
    ReportDateInFuture,
)
from scoring.storage.payment_default_register import PaymentDefaultRegister


def customer_id_of(register: PaymentDefaultRegister, pseudonym: str) -> int:
    """The customer's id; refuses an unknown pseudonym."""
    customer_id = register.customer_id(pseudonym)
    if customer_id is None:
        raise CustomerNotFound(f"no customer with pseudonym {pseudonym}", field="customer")
    return customer_id


def load_defaults(
    register: PaymentDefaultRegister, *, as_of: date, customer_id: int | None = None
) -> list[PaymentDefault]:
    """The payment defaults as of ``as_of``, of one customer or of all."""
    history = register.payment_history(as_of=as_of, customer_id=customer_id)
    try:
        return derive_defaults(
            invoices=history.invoices,
            payments=history.payments,
            as_of=as_of,
            verifications=history.verifications,
            notices=history.notices,
            disputes=history.disputes,
        )
    except DefaultsInputError as error:
        raise DefaultReportingError(f"the payment history cannot be read: {error}") from None


def check_report_date(as_of: date, today: date) -> None:
    """Refuse a report date that has not passed yet."""
    if as_of > today:
        raise ReportDateInFuture(
            f"report date {as_of.isoformat()} is in the future (today is {today.isoformat()}); "
            "defaults are reported only for days that have passed",
            field="as_of",
        )


def existing_default(
    register: PaymentDefaultRegister, *, pseudonym: str, started_on: date, today: date
) -> int:
    """The customer id, once the customer is found to have a default starting on that day."""
    customer_id = customer_id_of(register, pseudonym)
    starts = [
        default.started_on
        for default in load_defaults(register, as_of=today, customer_id=customer_id)
    ]
    if started_on not in starts:
        known = ", ".join(day.isoformat() for day in starts) or "none"
        raise DefaultNotFound(
            f"customer {pseudonym} has no payment default starting {started_on.isoformat()} "
            f"(defaults start on: {known})",
            field="start",
        )
    return customer_id
