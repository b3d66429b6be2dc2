"""Internal payment history: monthly invoices, payments, reminders and debts sent to collection.

People are simulated in fixed-size blocks, each with its own child generator, so memory stays
proportional to one block's invoices plus the finished tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from models.world.calendar import Clock
from models.world.life import Lives
from models.world.parameters import PaymentParameters
from models.world.people import People
from models.world.tables import NULL_DAY, date_array, identifiers

BLOCK_PEOPLE = 50_000
_MAX_PARTS = 3
# Typical monthly bill in EUR at a capacity of 1250 EUR, and how it scales with capacity.
_BILL = {0: (55.0, 0.5), 1: (32.0, 0.3), 2: (19.0, 0.1)}  # energy, telecom, smart_home
_ENERGY = 0


@dataclass(frozen=True)
class History:
    invoices: pa.Table
    payments: pa.Table


def simulate_history(
    *,
    people: People,
    lives: Lives,
    default_month: np.ndarray,
    clock: Clock,
    rng: np.random.Generator,
    params: PaymentParameters,
    on_block: Callable[[int], None] | None = None,
) -> History:
    """Invoices from max(customer_since, as_of - 48 months) and how each was paid by ``as_of``."""
    blocks = range(0, people.count, BLOCK_PEOPLE)
    generators = rng.spawn(len(blocks))
    invoice_parts: list[pa.Table] = []
    payment_parts: list[pa.Table] = []
    invoices_so_far = payments_so_far = 0
    for start, block_rng in zip(blocks, generators, strict=True):
        members = np.arange(start, min(start + BLOCK_PEOPLE, people.count))
        invoices, payments = _simulate_block(
            members=members,
            people=people,
            lives=lives,
            default_month=default_month,
            clock=clock,
            rng=block_rng,
            params=params,
            first_invoice=invoices_so_far + 1,
            first_payment=payments_so_far + 1,
        )
        invoices_so_far += invoices.num_rows
        payments_so_far += payments.num_rows
        invoice_parts.append(invoices)
        payment_parts.append(payments)
        if on_block is not None:
            on_block(len(members))
    return History(
        invoices=pa.concat_tables(invoice_parts).combine_chunks(),
        payments=pa.concat_tables(payment_parts).combine_chunks(),
    )


def heating_load(calendar_month: np.ndarray) -> np.ndarray:
    """0 in the warm half-year, rising to 1 in January (Estonian heating season Nov-Mar)."""
    return np.maximum(0.0, np.cos(2.0 * np.pi * (calendar_month - 1) / 12.0))


def _simulate_block(
    *,
    members: np.ndarray,
    people: People,
    lives: Lives,
    default_month: np.ndarray,
    clock: Clock,
    rng: np.random.Generator,
    params: PaymentParameters,
    first_invoice: int,
    first_payment: int,
) -> tuple[pa.Table, pa.Table]:
    size = len(members)
    today = clock.today
    bill_day = rng.integers(1, 29, size=size)
    days_to_pay = np.where(rng.random(size) < 0.7, 14, 21)
    issued = clock.month_starts[None, :] + (bill_day[:, None] - 1)
    since = people.customer_since[members][:, None]
    ended = people.relationship_ended_on[members][:, None]
    active = (since != NULL_DAY) & (issued >= since) & ((ended == NULL_DAY) | (issued < ended))
    local, month = np.nonzero(active)  # row-major: per person, chronological
    person = members[local]
    count = len(person)

    issued_on = issued[local, month]
    due_on = issued_on + days_to_pay[local]
    segment = people.segment[person]
    heating = heating_load(clock.calendar_month()[month]) * (segment == _ENERGY)
    bill = np.empty(count)
    for code, (typical, elasticity) in _BILL.items():
        chosen = segment == code
        bill[chosen] = typical * (lives.monthly_capacity[person[chosen]] / 1250.0) ** elasticity
    amount_cents = np.maximum(
        100,
        np.round(bill * (1.0 + 0.9 * heating) * np.exp(0.08 * rng.standard_normal(count)) * 100),
    ).astype(np.int64)

    state = (
        lives.creditworthiness[person, month]
        - params.job_loss_penalty * lives.out_of_work[person, month]
        - params.default_penalty * (month >= default_month[person])
        - params.heating_penalty * heating
        + params.invoice_noise_sd * rng.standard_normal(count)
    )
    late = rng.random(count) < _sigmoid(params.late_intercept + params.late_slope * state)
    mean_days_late = np.exp(params.days_late_log_mean + params.days_late_slope * state)
    days_late = np.ceil(rng.exponential(1.0, size=count) * np.minimum(mean_days_late, 5000.0))
    days_late = np.maximum(days_late, 1).astype(np.int64)
    # Careful payers settle well before the due date; stretched ones on the last days.
    early_pull = _sigmoid(params.early_slope * state + 0.5 * rng.standard_normal(count))
    days_early = np.minimum(np.floor(params.max_days_early * early_pull), due_on - issued_on - 1)
    days_early = days_early.astype(np.int64)
    settled_on = np.where(late, due_on + days_late, due_on - days_early)

    # Late payers sometimes pay in two or three parts before settling.
    partial = late & (
        rng.random(count) < _sigmoid(params.partial_intercept + params.partial_slope * state)
    )
    parts = np.where(partial, np.where(rng.random(count) < 0.35, 3, 2), 1)
    part_day = np.empty((count, _MAX_PARTS), dtype=np.int64)
    part_cents = np.zeros((count, _MAX_PARTS), dtype=np.int64)
    early_share = np.sort(rng.uniform(0.15, 0.85, size=(count, 2)), axis=1)
    part_day[:, 0] = np.where(
        parts > 1, due_on + np.floor(days_late * early_share[:, 0]), settled_on
    )
    part_day[:, 1] = np.where(
        parts > 2, due_on + np.floor(days_late * early_share[:, 1]), settled_on
    )
    part_day[:, 2] = settled_on
    first_cents = np.round(amount_cents * rng.uniform(0.3, 0.6, size=count)).astype(np.int64)
    second_cents = np.round(amount_cents * rng.uniform(0.1, 0.25, size=count)).astype(np.int64)
    part_cents[:, 0] = np.where(parts > 1, first_cents, amount_cents)
    part_cents[:, 1] = np.where(parts > 2, second_cents, 0)
    part_cents[:, 2] = np.where(parts > 1, amount_cents - part_cents[:, 0] - part_cents[:, 1], 0)
    slot = np.arange(_MAX_PARTS)
    # Slot layout: one part uses slot 0, two parts slots 0 and 2, three parts all slots.
    used = (
        (slot[None, :] == 0)
        | ((slot[None, :] == 2) & (parts[:, None] > 1))
        | ((slot[None, :] == 1) & (parts[:, None] > 2))
    )
    happened = used & (part_day <= today)
    paid_cents = (part_cents * happened).sum(axis=1)
    paid_in_full = settled_on <= today

    reminders = np.zeros(count, dtype=np.int64)
    for days in params.reminder_days:
        reminders += (settled_on > due_on + days) & (due_on + days <= today)
    collection_day = due_on + params.collection_days
    collected = (settled_on > collection_day) & (collection_day <= today)

    invoice_ids = identifiers("INV-", start=first_invoice, count=count, width=9)
    invoices = pa.table(
        {
            "invoice_id": invoice_ids,
            "personal_code": people.personal_code.take(pa.array(person)),
            "issued_on": date_array(issued_on),
            "due_on": date_array(due_on),
            "amount_eur": amount_cents / 100.0,
            "paid_eur": paid_cents / 100.0,
            "paid_in_full_on": date_array(np.where(paid_in_full, settled_on, NULL_DAY)),
            "reminders_sent": reminders,
            "sent_to_collection_on": date_array(np.where(collected, collection_day, NULL_DAY)),
        }
    )
    invoice_row, part = np.nonzero(happened)  # row-major: per invoice, in date order
    payments = pa.table(
        {
            "payment_id": identifiers(
                "PAY-", start=first_payment, count=len(invoice_row), width=10
            ),
            "invoice_id": invoice_ids.take(pa.array(invoice_row)),
            "paid_on": date_array(part_day[invoice_row, part]),
            "amount_eur": part_cents[invoice_row, part] / 100.0,
        }
    )
    return invoices, payments


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
