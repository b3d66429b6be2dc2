"""Deriving payment defaults from invoices and payments, and the guards on reporting them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from scoring.domain.payment_defaults import (
    DefaultsInputError,
    DisputeRecord,
    InvoiceRecord,
    NoticeRecord,
    PaymentDefault,
    PaymentRecord,
    VerificationRecord,
    derive_defaults,
    guard_failures,
)

DUE = date(2026, 1, 10)
CUSTOMER = "a" * 64


def invoice(number: str, due_on: date, amount: str, customer: str = CUSTOMER) -> InvoiceRecord:
    return InvoiceRecord(number, customer, due_on, Decimal(amount))


def paid(number: str, on: date, amount: str) -> PaymentRecord:
    return PaymentRecord(number, on, Decimal(amount))


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def ready(started_on: date = DUE, customer: str = CUSTOMER) -> dict[str, list[object]]:
    """Verification and notice on the day after the start: only the timing guards remain."""
    return {
        "verifications": [VerificationRecord(customer, started_on, "operator", at(started_on))],
        "notices": [NoticeRecord(customer, started_on, started_on + timedelta(days=1))],
    }


def one_default(as_of: date, *invoices_and_payments: object, **records: object) -> PaymentDefault:
    invoices = [item for item in invoices_and_payments if isinstance(item, InvoiceRecord)]
    payments = [item for item in invoices_and_payments if isinstance(item, PaymentRecord)]
    [found] = derive_defaults(invoices=invoices, payments=payments, as_of=as_of, **records)  # type: ignore[arg-type]
    return found


def failed_rules(default: PaymentDefault, as_of: date) -> list[str]:
    return [failure.rule for failure in guard_failures(default, as_of=as_of)]


# Deriving defaults


def test_an_invoice_paid_by_its_due_date_is_no_default() -> None:
    found = derive_defaults(
        invoices=[invoice("I1", DUE, "80.00")],
        payments=[paid("I1", DUE, "80.00")],
        as_of=date(2026, 6, 1),
    )

    assert found == []


def test_an_unpaid_invoice_is_a_default_from_its_due_date() -> None:
    default = one_default(date(2026, 3, 1), invoice("I1", DUE, "80.00"))

    assert default.started_on == DUE
    assert default.ended_on is None
    assert default.amount == default.amount_outstanding == Decimal("80.00")
    assert default.days_overdue == (date(2026, 3, 1) - DUE).days
    assert default.invoice_numbers == ("I1",)


def test_consecutive_unpaid_invoices_are_one_breach_that_ends_when_all_are_paid() -> None:
    second_due = DUE + timedelta(days=31)
    cleared = date(2026, 3, 20)

    default = one_default(
        date(2026, 6, 1),
        invoice("I1", DUE, "50.00"),
        invoice("I2", second_due, "50.00"),
        paid("I1", date(2026, 2, 15), "50.00"),
        paid("I2", cleared, "50.00"),
    )

    assert default.started_on == DUE
    assert default.ended_on == cleared
    assert default.amount == Decimal("100.00"), "the largest overdue balance of the breach"
    assert default.amount_outstanding == Decimal("0.00")
    assert default.days_overdue == (cleared - DUE).days
    assert default.invoice_numbers == ("I1", "I2")


def test_a_partial_payment_lowers_the_outstanding_amount_but_does_not_end_the_default() -> None:
    default = one_default(
        date(2026, 4, 1), invoice("I1", DUE, "120.00"), paid("I1", date(2026, 2, 1), "70.00")
    )

    assert default.ended_on is None
    assert default.amount_outstanding == Decimal("50.00")


def test_payments_after_the_report_date_do_not_count() -> None:
    default = one_default(
        date(2026, 3, 1), invoice("I1", DUE, "80.00"), paid("I1", date(2026, 3, 2), "80.00")
    )

    assert default.ended_on is None


def test_a_payment_towards_an_unknown_invoice_is_refused_with_its_number() -> None:
    with pytest.raises(DefaultsInputError, match="X9"):
        derive_defaults(invoices=[], payments=[paid("X9", DUE, "1.00")], as_of=date(2026, 3, 1))


def test_records_made_after_the_report_date_do_not_count() -> None:
    late = date(2026, 4, 1)
    default = one_default(
        date(2026, 3, 1),
        invoice("I1", DUE, "80.00"),
        verifications=[VerificationRecord(CUSTOMER, DUE, "operator", at(late))],
        notices=[NoticeRecord(CUSTOMER, DUE, late)],
        disputes=[DisputeRecord(CUSTOMER, DUE, at(late))],
    )

    assert (default.verified_by, default.notice_sent_on, default.disputed) == (None, None, False)


# The guards, at their boundaries


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (29, ["thirty_days_since_breach", "more_than_45_days_overdue"]),
        (30, ["more_than_45_days_overdue"]),
        (45, ["more_than_45_days_overdue"]),
        (46, []),
    ],
    ids=["29-days", "30-days", "45-days", "46-days"],
)
def test_days_overdue_boundaries(days: int, expected: list[str]) -> None:
    as_of = DUE + timedelta(days=days)
    default = one_default(as_of, invoice("I1", DUE, "80.00"), **ready())

    assert default.days_overdue == days
    assert failed_rules(default, as_of) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("29.99", ["at_least_30_eur"]), ("30.00", [])],
    ids=["29.99-eur", "30.00-eur"],
)
def test_amount_boundaries(amount: str, expected: list[str]) -> None:
    as_of = DUE + timedelta(days=60)
    default = one_default(as_of, invoice("I1", DUE, amount), **ready())

    assert failed_rules(default, as_of) == expected


def test_the_amount_reason_names_the_amount_and_the_minimum() -> None:
    as_of = DUE + timedelta(days=60)
    default = one_default(as_of, invoice("I1", DUE, "29.99"), **ready())

    [failure] = guard_failures(default, as_of=as_of)
    assert failure.reason == "29.99 EUR is below the register minimum of 30.00 EUR"


@pytest.mark.parametrize(
    ("offset_days", "expected"),
    [(-1, []), (1, ["within_five_years_of_end"])],
    ids=["five-years-minus-a-day", "five-years-plus-a-day"],
)
def test_five_years_after_the_end(offset_days: int, expected: list[str]) -> None:
    ended = date(2020, 5, 4)
    as_of = date(2025, 5, 4) + timedelta(days=offset_days)
    started = date(2020, 3, 10)
    history = (invoice("I1", started, "80.00"), paid("I1", ended, "80.00"))
    default = one_default(as_of, *history, **ready(started))

    assert default.ended_on == ended
    assert failed_rules(default, as_of) == expected


def test_an_unverified_default_is_held_back() -> None:
    as_of = DUE + timedelta(days=60)
    records = ready()
    records["verifications"] = []
    default = one_default(as_of, invoice("I1", DUE, "80.00"), **records)

    [failure] = guard_failures(default, as_of=as_of)
    assert failure.rule == "verified"
    assert "not verified" in failure.reason


def test_a_default_without_a_notice_to_the_debtor_is_held_back() -> None:
    as_of = DUE + timedelta(days=60)
    records = ready()
    records["notices"] = []
    default = one_default(as_of, invoice("I1", DUE, "80.00"), **records)

    [failure] = guard_failures(default, as_of=as_of)
    assert failure.rule == "debtor_notified"
    assert "notice" in failure.reason


def test_a_notice_dated_before_the_default_started_does_not_count() -> None:
    as_of = DUE + timedelta(days=60)
    records = ready()
    records["notices"] = [NoticeRecord(CUSTOMER, DUE, DUE - timedelta(days=3))]
    default = one_default(as_of, invoice("I1", DUE, "80.00"), **records)

    assert failed_rules(default, as_of) == ["debtor_notified"]


def test_a_disputed_default_is_held_back_until_the_dispute_is_rejected() -> None:
    as_of = DUE + timedelta(days=60)
    raised = at(DUE + timedelta(days=50))
    open_dispute = DisputeRecord(CUSTOMER, DUE, raised)
    rejected = DisputeRecord(CUSTOMER, DUE, raised, "rejected", at(DUE + timedelta(days=55)))
    accepted = DisputeRecord(CUSTOMER, DUE, raised, "accepted", at(DUE + timedelta(days=55)))

    def rules(dispute: DisputeRecord) -> list[str]:
        default = one_default(as_of, invoice("I1", DUE, "80.00"), disputes=[dispute], **ready())
        return failed_rules(default, as_of)

    assert rules(open_dispute) == ["not_disputed"]
    assert rules(rejected) == []
    assert rules(accepted) == ["not_disputed"]


def test_a_default_without_its_identity_on_file_is_held_back() -> None:
    as_of = DUE + timedelta(days=60)
    default = one_default(as_of, invoice("I1", DUE, "80.00"), **ready())

    [failure] = guard_failures(default, as_of=as_of, identity_on_file=False)
    assert failure.rule == "identity_on_file"
