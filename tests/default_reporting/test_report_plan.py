"""Planning a report: new defaults, corrections after payment, removals, and what is held back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from scoring.domain.payment_defaults import (
    PaymentDefault,
    RegisterEntry,
    Transaction,
    plan_report,
    register_after,
)

AS_OF = date(2026, 6, 1)
ANNA = "a" * 64
BRUNO = "b" * 64
START = date(2026, 2, 1)


def default(
    customer: str = ANNA,
    *,
    ended_on: date | None = None,
    amount: str = "80.00",
    verified: bool = True,
    notice: bool = True,
    disputed: bool = False,
) -> PaymentDefault:
    end_or_now = ended_on or AS_OF
    return PaymentDefault(
        customer=customer,
        started_on=START,
        ended_on=ended_on,
        amount=Decimal(amount),
        amount_outstanding=Decimal("0.00") if ended_on else Decimal(amount),
        days_overdue=(end_or_now - START).days,
        invoice_numbers=("I1",),
        notice_sent_on=date(2026, 3, 1) if notice else None,
        disputed=disputed,
        verified_by="operator" if verified else None,
    )


def reported(customer: str = ANNA, ended_on: date | None = None) -> dict:
    return {(customer, START): RegisterEntry(customer, START, Decimal("80.00"), ended_on)}


def test_a_default_passing_every_guard_is_reported_as_new() -> None:
    plan = plan_report(defaults=[default()], register={}, as_of=AS_OF, identities={ANNA})

    [line] = plan.lines
    assert (line.transaction, line.customer, line.started_on, line.amount, line.ended_on) == (
        Transaction.NEW,
        ANNA,
        START,
        Decimal("80.00"),
        None,
    )
    assert plan.held_back == ()


def test_a_held_back_default_lists_every_failing_guard() -> None:
    plan = plan_report(
        defaults=[default(verified=False, notice=False)],
        register={},
        as_of=AS_OF,
        identities={ANNA},
    )

    assert plan.lines == ()
    [held] = plan.held_back
    assert held.withheld is Transaction.NEW
    assert [failure.rule for failure in held.failures] == ["verified", "debtor_notified"]


def test_an_already_reported_open_default_is_not_sent_again() -> None:
    plan = plan_report(defaults=[default()], register=reported(), as_of=AS_OF, identities={ANNA})

    assert plan.lines == ()


def test_a_reported_default_paid_since_gets_a_correction_with_its_end_date() -> None:
    paid_on = date(2026, 5, 20)

    plan = plan_report(
        defaults=[default(ended_on=paid_on)], register=reported(), as_of=AS_OF, identities={ANNA}
    )

    [line] = plan.lines
    assert (line.transaction, line.ended_on, line.note) == (
        Transaction.CORRECTION,
        paid_on,
        "paid in full",
    )
    after = register_after(reported(), plan.lines)
    assert after[(ANNA, START)].ended_on == paid_on


def test_a_correction_is_sent_once() -> None:
    paid_on = date(2026, 5, 20)
    register = reported(ended_on=paid_on)

    plan = plan_report(
        defaults=[default(ended_on=paid_on)], register=register, as_of=AS_OF, identities={ANNA}
    )

    assert plan.lines == ()


def test_a_reported_default_that_is_disputed_later_is_removed() -> None:
    plan = plan_report(
        defaults=[default(disputed=True)], register=reported(), as_of=AS_OF, identities={ANNA}
    )

    [line] = plan.lines
    assert (line.transaction, line.note) == (Transaction.REMOVAL, "the customer disputes it")


def test_a_reported_default_is_removed_five_years_after_it_ended() -> None:
    ended = date(2021, 5, 1)
    plan = plan_report(
        defaults=[default(ended_on=ended)],
        register=reported(ended_on=ended),
        as_of=AS_OF,
        identities={ANNA},
    )

    [line] = plan.lines
    assert line.transaction is Transaction.REMOVAL
    assert register_after(reported(ended_on=ended), plan.lines) == {}


def test_a_reported_default_no_longer_in_the_history_is_removed() -> None:
    plan = plan_report(defaults=[], register=reported(), as_of=AS_OF, identities={ANNA})

    [line] = plan.lines
    assert (line.transaction, line.note) == (
        Transaction.REMOVAL,
        "no longer found in the payment history",
    )


def test_without_the_identity_on_file_nothing_is_sent_and_the_line_is_held_back() -> None:
    plan = plan_report(
        defaults=[default(), default(BRUNO, ended_on=date(2026, 5, 2))],
        register=reported(BRUNO),
        as_of=AS_OF,
        identities=set(),
    )

    assert plan.lines == ()
    assert [(item.customer, item.withheld) for item in plan.held_back] == [
        (ANNA, Transaction.NEW),
        (BRUNO, Transaction.CORRECTION),
    ]
    assert all(item.failures[-1].rule == "identity_on_file" for item in plan.held_back)


def test_lines_come_in_a_stable_order_whatever_the_input_order() -> None:
    defaults = [default(BRUNO), default(ANNA)]

    forward = plan_report(defaults=defaults, register={}, as_of=AS_OF, identities={ANNA, BRUNO})
    backward = plan_report(
        defaults=defaults[::-1], register={}, as_of=AS_OF, identities={ANNA, BRUNO}
    )

    assert forward == backward
    assert [line.customer for line in forward.lines] == [ANNA, BRUNO]
