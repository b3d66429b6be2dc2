"""Payment-history aggregates of each application as of its UTC calendar day.

One numpy kernel (:func:`_history_kernel`) serves a batch of applications read from tables
(:func:`history_aggregates`) and one live applicant whose history arrives as arrays
(:class:`CustomerHistory`, :func:`applicant_history_aggregates`). Only events dated strictly
before the application's UTC calendar day count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from scoring.domain.reasons import OVERDUE_BALANCE_AFTER_DAYS
from scoring.features.catalogue import FeatureInputError
from scoring.features.tables import _days, _factorize, _floats, _positions, _require

# Windows in days: calendar months differ in length, day windows are exact and cheap.
WINDOW_DAYS = {"3m": 91, "6m": 182, "12m": 365, "24m": 730}
# Balance checkpoints for the 12-month maximum: today and every 30 days back.
BALANCE_CHECKPOINT_DAYS = tuple(range(0, 366, 30))
_BALANCE_BACKS = np.asarray(BALANCE_CHECKPOINT_DAYS, dtype=np.float64)
_WINDOW_LENGTHS = np.asarray(list(WINDOW_DAYS.values()), dtype=np.float64)
# Reminders carry no date; on an invoice still open at the application day we count only
# those that could have been sent by then at this cadence.
REMINDER_INTERVAL_DAYS = 14
# A payment this many days late or later counts as this late in the payment margin: beyond
# it lateness is the days-past-due features' business, and one outlier would swamp the mean.
PAY_MARGIN_FLOOR_DAYS = 60
# Half-life of a bill's weight in the recent mean of days paid early: a year-old bill counts a
# quarter of one paid last month, as a payer's habits drift over months.
EARLY_DAYS_HALF_LIFE_DAYS = 180.0
_EPOCH_DATE = date(1970, 1, 1)

# The kernel's raw aggregates, in the order of :func:`history_aggregates`' columns; a block
# of them has a row per aggregate and a column per application.
_RAW_AGGREGATES = (
    "has_history",
    "days_since_first_invoice",
    "invoice_count_24m",
    "max_dpd_3m",
    "max_dpd_6m",
    "max_dpd_12m",
    "max_dpd_24m",
    "invoices_due_12m",
    "dpd_sum_12m",
    "late_payments_12m",
    "late_payments_24m",
    "days_since_last_late_payment",
    "reminders_12m",
    "collections_24m",
    "current_balance_eur",
    "max_balance_12m_eur",
    "current_dpd",
    "invoices_issued_12m",
    "invoice_amount_sum_12m",
    "partial_paid_due_12m",
    "settled_due_12m",
    "pay_margin_sum_12m",
    "overdue_balance_eur",
    "paid_on_time",
    "early_days_sum",
    "paid_on_time_weight",
    "early_days_weighted_sum",
)


def _match(
    left: np.ndarray, right: np.ndarray, n_codes: int, *, distinct: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` of every pair with ``left[i] == right[j]``, codes in ``0..n_codes``.

    Ordered by ``i`` then ``j``, as an inner join keeps them; a negative code matches nothing.
    ``distinct`` promises that no code repeats in ``left`` (one application, its invoices).
    """
    if len(left) == 1:
        # One left row (one application): its partners are the right rows with its code.
        right_idx = (right == left[0]).nonzero()[0] if left[0] >= 0 else np.empty(0, np.intp)
        return np.zeros(len(right_idx), dtype=np.intp), right_idx
    if distinct:
        # Each right row has at most one partner: a lookup table instead of grouping. The
        # spare last slot answers a right code -1 and, reset after the fill, a left one.
        partner = np.full(n_codes + 1, -1, dtype=np.intp)
        partner[left] = np.arange(len(left))
        partner[-1] = -1
        left_of_right = partner[right]
        unmatched = np.count_nonzero(left_of_right < 0)
        right_idx = left_of_right.argsort(kind="stable")[unmatched:]
        return left_of_right[right_idx], right_idx
    present = np.flatnonzero(right >= 0)
    right_codes = right[present]
    # Rows of ``right`` grouped by code, each group in its original order.
    by_code = present[np.argsort(right_codes, kind="stable")]
    count = np.bincount(right_codes, minlength=n_codes)
    first = np.cumsum(count) - count
    left_ok = left >= 0
    per_left = np.where(left_ok, count[np.where(left_ok, left, 0)], 0)
    left_idx = np.repeat(np.arange(len(left)), per_left)
    offset = np.cumsum(per_left) - per_left
    within = np.arange(len(left_idx)) - np.repeat(offset, per_left)
    right_idx = by_code[np.repeat(first[np.where(left_ok, left, 0)], per_left) + within]
    return left_idx, right_idx


def _group_extreme(
    extreme: np.ufunc,
    index: np.ndarray,
    values: np.ndarray,
    n: int,
    start: float,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """``extreme`` (np.maximum, np.minimum) of ``values`` per group ``index``, from ``start``.

    Only where ``where`` holds; several masks, a row each, give a row of groups each. Exact
    in any order, so one group may reduce instead of scatter.
    """
    if n == 1:
        # One group (one application): a reduction, without the scatter of ufunc.at.
        if where is not None and where.ndim > 1:
            values, where = np.where(where, values, start), None
        mask = True if where is None else where
        return extreme.reduce(values, axis=-1, keepdims=True, initial=start, where=mask)
    if where is None:
        out = np.full(n, start)
        extreme.at(out, index, values)
        return out
    masks = where if where.ndim > 1 else where[None]
    out = np.full((len(masks), n), start)
    for group_row, mask in zip(out, masks, strict=True):
        extreme.at(group_row, index[mask], values[mask])
    return out if where.ndim > 1 else out[0]


def _group_max(
    index: np.ndarray, values: np.ndarray, n: int, empty: float, where: np.ndarray
) -> np.ndarray:
    """Largest of ``values`` per group where ``where`` holds; ``empty`` for a group with none."""
    out = _group_extreme(np.maximum, index, values, n, -np.inf, where)
    out[out == -np.inf] = empty
    return out


def _sums_before(
    index: np.ndarray,
    cutoff: np.ndarray,
    *,
    day: np.ndarray,
    weights: np.ndarray,
    backs: np.ndarray,
) -> np.ndarray:
    """Per group ``index``: the sum of ``weights`` over events before ``cutoff - back``.

    ``cutoff`` is each group's; the result has a row per back and a column per group. Every
    sum adds in event order (np.bincount's), however it is computed.
    """
    n = len(cutoff)
    if n == 1:
        # One group (a live decision): every back in one bincount over a bin per back.
        before = day < (cutoff - backs)[:, None]
        bins = np.arange(len(backs)).repeat(len(day))
        sums = np.bincount(bins, weights=(weights * before).ravel(), minlength=len(backs))
        return sums[:, None]
    # Many groups: a pass per back keeps memory at one event column.
    event_cutoff = cutoff[index]
    return np.array(
        [
            np.bincount(index, weights=weights * (day < event_cutoff - back), minlength=n)
            for back in backs
        ]
    )


def _history_columns(
    applications: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    customer_key: str,
) -> dict[str, np.ndarray]:
    """The event tables as arrays, checked, with each payment's invoice as a position."""
    _require(applications, "applications", ["application_id", customer_key, "applied_at"])
    _require(
        invoices,
        "invoices",
        [
            "invoice_id",
            customer_key,
            "issued_on",
            "due_on",
            "amount_eur",
            "paid_in_full_on",
            "reminders_sent",
            "sent_to_collection_on",
        ],
    )
    _require(payments, "payments", ["invoice_id", "paid_on", "amount_eur"])

    # The cut-off is the start of the application's UTC day: same-day events are excluded.
    t_app = np.floor(_days(applications["applied_at"]))
    if np.isnan(t_app).any():
        raise FeatureInputError("applications.applied_at has missing values")

    person, people = _factorize(applications[customer_key])
    invoice_person = _positions(people, invoices[customer_key])
    pay_inv = _positions(
        invoices["invoice_id"], payments["invoice_id"], distinct="invoices.invoice_id"
    )
    if (pay_inv < 0).any():
        unknown = payments["invoice_id"].to_numpy()[pay_inv < 0][:3]
        raise FeatureInputError(f"payments refer to unknown invoice_id(s) {list(unknown)}")
    return {
        "t_app": t_app,
        "person": person,
        "people": people,
        "invoice_person": invoice_person,
        "issued": _days(invoices["issued_on"]),
        "due": _days(invoices["due_on"]),
        "amount": _floats(invoices, "amount_eur"),
        "paid_full": _days(invoices["paid_in_full_on"]),
        "reminders": _floats(invoices, "reminders_sent"),
        "collection": _days(invoices["sent_to_collection_on"]),
        "pay_inv": pay_inv,
        "paid_on": _days(payments["paid_on"]),
        "pay_amount": _floats(payments, "amount_eur"),
    }


def _history_kernel(
    *,
    t_app: np.ndarray,
    person: np.ndarray,
    people: Sequence,
    invoice_person: np.ndarray,
    issued: np.ndarray,
    due: np.ndarray,
    amount: np.ndarray,
    paid_full: np.ndarray,
    reminders: np.ndarray,
    collection: np.ndarray,
    pay_inv: np.ndarray,
    paid_on: np.ndarray,
    pay_amount: np.ndarray,
) -> np.ndarray:
    """Raw aggregates per application from event arrays (numpy only, any batch size).

    ``person`` and ``invoice_person`` code the customer of each application and invoice
    (negative: no application's customer); ``pay_inv`` is each payment's invoice position.
    Returns a float64 block, a row per :data:`_RAW_AGGREGATES` name, a column per application.
    """
    # Applications of one customer with one cut-off day have one history (a decision's
    # counterfactual candidates): aggregate each such pair once and hand it to all of them.
    if len(t_app) > 1:
        day = t_app.astype(np.int64)
        pair = (person.astype(np.int64) + 1) * (day.max() - day.min() + 1) + (day - day.min())
        _, first, spread = np.unique(pair, return_index=True, return_inverse=True)
        if len(first) < len(t_app):
            events = dict(
                people=people, invoice_person=invoice_person, issued=issued, due=due,
                amount=amount, paid_full=paid_full, reminders=reminders,
                collection=collection, pay_inv=pay_inv, paid_on=paid_on, pay_amount=pay_amount,
            )  # fmt: skip
            once = _history_kernel(t_app=t_app[first], person=person[first], **events)
            return once[:, spread]
    n_apps = len(t_app)
    # One application pairs with each invoice at most once, so the joins may look partners
    # up instead of grouping them.
    single = n_apps == 1
    app_idx, inv_idx = _match(person, invoice_person, len(people), distinct=single)
    t = t_app[app_idx]
    keep = issued[inv_idx] < t
    app_idx, inv_idx, t = app_idx[keep], inv_idx[keep], t[keep]

    issued = issued[inv_idx]
    due = due[inv_idx]
    amount = amount[inv_idx]
    paid_full = paid_full[inv_idx]
    reminders = reminders[inv_idx]
    collection = collection[inv_idx]

    # Payments joined to (application, invoice) pairs; only those before the cut-off count.
    n_pairs = len(inv_idx)
    pp_pair, pp_pay = _match(inv_idx, pay_inv, len(invoice_person), distinct=single)
    pp_paid_on = paid_on[pp_pay]
    pp_amount = pay_amount[pp_pay]
    pp_app = app_idx[pp_pair]
    pp_t = t[pp_pair]
    pp_before = pp_paid_on < pp_t
    paid_by_t = np.bincount(pp_pair[pp_before], weights=pp_amount[pp_before], minlength=n_pairs)
    payments_by_t = np.bincount(pp_pair[pp_before], minlength=n_pairs)

    settled = paid_full < t  # NaN compares False: never settled counts as open
    is_due = due < t
    collected = collection < t
    end = np.where(settled, paid_full, t)
    dpd = np.where(is_due, np.maximum(end - due, 0.0), 0.0)
    late = is_due & ~(paid_full <= due)

    def since(day: np.ndarray, window: str) -> np.ndarray:
        """On or after the window's start; the caller knows the day is before the cut-off."""
        return day >= t - WINDOW_DAYS[window]

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(app_idx, weights=weights, minlength=n_apps)

    out: dict[str, np.ndarray] = {}
    has_history = np.bincount(app_idx, minlength=n_apps) > 0
    out["has_history"] = has_history
    first_issued = _group_extreme(np.minimum, app_idx, issued, n_apps, np.inf)
    out["days_since_first_invoice"] = np.where(has_history, t_app - first_issued, 0.0)
    out["invoice_count_24m"] = total(since(issued, "24m"))  # every pair's was issued before t
    # Invoices that were overdue at some point inside each window (dpd > 0: already due),
    # a row per window.
    max_dpd = _group_max(
        app_idx, dpd, n_apps, 0.0, where=(dpd > 0) & (end > t - _WINDOW_LENGTHS[:, None])
    )
    for i, window in enumerate(WINDOW_DAYS):
        out[f"max_dpd_{window}"] = max_dpd[i]
    due_12m = is_due & since(due, "12m")
    out["invoices_due_12m"] = total(due_12m)
    out["dpd_sum_12m"] = total(dpd * due_12m)
    for window in ("12m", "24m"):
        out[f"late_payments_{window}"] = total(late & since(due, window))
    last_late = _group_max(app_idx, due, n_apps, np.nan, where=late)
    out["days_since_last_late_payment"] = t_app - last_late

    resolved = settled | collected
    possible = np.floor(np.where(is_due, t - due, 0.0) / REMINDER_INTERVAL_DAYS)
    known_reminders = np.where(resolved, reminders, np.minimum(reminders, possible))
    out["reminders_12m"] = total(known_reminders * due_12m)
    out["collections_24m"] = total(collected & since(collection, "24m"))

    # Balance at each checkpoint (a row each): billed before it, less paid before it.
    balances = _sums_before(app_idx, t_app, day=issued, weights=amount, backs=_BALANCE_BACKS)
    balances = balances - _sums_before(
        pp_app, t_app, day=pp_paid_on, weights=pp_amount, backs=_BALANCE_BACKS
    )
    # Rounding keeps order, so the highest rounded balance is the rounded highest one.
    balances = np.maximum(balances, 0.0).round(2)
    out["current_balance_eur"] = balances[0]
    out["max_balance_12m_eur"] = balances.max(axis=0)
    open_overdue = is_due & ~settled
    out["current_dpd"] = _group_max(app_idx, t - due, n_apps, 0.0, where=open_overdue)
    # Still owed on invoices unpaid more than OVERDUE_BALANCE_AFTER_DAYS past their due date
    # (the reason texts state the same number): a bill due yesterday is the current bill.
    owed = np.maximum(amount - paid_by_t, 0.0)
    long_overdue = open_overdue & (t - due > OVERDUE_BALANCE_AFTER_DAYS)
    out["overdue_balance_eur"] = total(np.where(long_overdue, owed, 0.0)).round(2)

    issued_12m = since(issued, "12m")
    out["invoices_issued_12m"] = total(issued_12m)
    out["invoice_amount_sum_12m"] = total(amount * issued_12m)
    partial = (payments_by_t >= 2) | ((paid_by_t > 0.005) & (paid_by_t < amount - 0.005))
    out["partial_paid_due_12m"] = total(partial & due_12m)
    # Payment margin: days from full payment to the due date (negative when late) over
    # invoices due in the last 12 months and settled before the cut-off.
    margin_counts = settled & due_12m
    margin = np.maximum(due - paid_full, -PAY_MARGIN_FLOOR_DAYS)
    out["settled_due_12m"] = total(margin_counts)
    out["pay_margin_sum_12m"] = total(np.where(margin_counts, margin, 0.0))
    # Days paid early over every invoice of the history paid in full by its due date, plainly
    # and with recent ones weighing more: how careful a payer is, with no lateness mixed in.
    on_time = settled & is_due & (paid_full <= due)
    early = np.where(on_time, due - paid_full, 0.0)
    recency = np.where(on_time, 0.5 ** ((t - due) / EARLY_DAYS_HALF_LIFE_DAYS), 0.0)
    out["paid_on_time"] = total(on_time)
    out["early_days_sum"] = total(early)
    out["paid_on_time_weight"] = total(recency)
    out["early_days_weighted_sum"] = total(recency * early)
    # float64 whatever the batch size (bincount over no events returns integers), and
    # whatever the aggregate (has_history is a truth value).
    return np.array([out[name] for name in _RAW_AGGREGATES], dtype=np.float64)


def history_aggregates(
    *,
    applications: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    customer_key: str = "personal_code",
) -> pd.DataFrame:
    """Raw per-application sums, counts and day distances from the payment history.

    Returned in the order of ``applications``; one row per application.
    """
    raw = _history_kernel(**_history_columns(applications, invoices, payments, customer_key))
    return pd.DataFrame(raw.T, index=applications.index, columns=list(_RAW_AGGREGATES))


# ---------------------------------------------------------------------------------------
# One applicant, live: the same kernel from arrays, without tables.


@dataclass(frozen=True)
class CustomerHistory:
    """One customer's invoices and payments as arrays, the live input of the kernel.

    Dates are days since 1970-01-01 as float, NaN where missing (see :func:`day_numbers`);
    ``pay_invoice`` is each payment's invoice as a position in the invoice arrays.
    """

    issued: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    paid_full: np.ndarray
    reminders: np.ndarray
    collection: np.ndarray
    pay_invoice: np.ndarray
    paid_on: np.ndarray
    pay_amount: np.ndarray
    # The kernel's aggregates by cut-off day, computed once: a decision reads them for its
    # features, its reasons and each counterfactual candidate batch.
    _aggregates: dict[float, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        invoices = {len(getattr(self, n)) for n in _INVOICE_ARRAYS}
        payments = {len(getattr(self, n)) for n in _PAYMENT_ARRAYS}
        if len(invoices) != 1 or len(payments) != 1:
            raise FeatureInputError("customer history arrays differ in length")
        n_invoices = invoices.pop()
        if len(self.pay_invoice) and not (
            (self.pay_invoice >= 0).all() and (self.pay_invoice < n_invoices).all()
        ):
            raise FeatureInputError("payments refer to invoices outside the customer's history")

    @classmethod
    def from_frames(cls, invoices: pd.DataFrame, payments: pd.DataFrame) -> CustomerHistory:
        """One customer's rows of the world's invoice and payment tables, as arrays."""

        def days(frame: pd.DataFrame, column: str) -> np.ndarray:
            return day_numbers(
                [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]]
            )

        where = {invoice_id: i for i, invoice_id in enumerate(invoices["invoice_id"])}
        return cls(
            issued=days(invoices, "issued_on"),
            due=days(invoices, "due_on"),
            amount=invoices["amount_eur"].to_numpy(dtype=np.float64),
            paid_full=days(invoices, "paid_in_full_on"),
            reminders=invoices["reminders_sent"].to_numpy(dtype=np.float64),
            collection=days(invoices, "sent_to_collection_on"),
            pay_invoice=np.asarray([where[i] for i in payments["invoice_id"]], dtype=np.intp),
            paid_on=days(payments, "paid_on"),
            pay_amount=payments["amount_eur"].to_numpy(dtype=np.float64),
        )

    def with_overdue_paid(self, *, day: float) -> CustomerHistory:
        """This history as if every invoice unpaid more than OVERDUE_BALANCE_AFTER_DAYS past
        its due date on cut-off ``day`` had been paid in full the day before.

        What an applicant can still do: the late payment stays on record, the debt goes.
        """
        before = self.paid_on < day
        paid = np.bincount(
            self.pay_invoice[before], weights=self.pay_amount[before], minlength=len(self.due)
        )
        unsettled = ~(self.paid_full < day)  # NaN (never settled) counts as unsettled
        overdue = (self.issued < day) & unsettled & (day - self.due > OVERDUE_BALANCE_AFTER_DAYS)
        if not overdue.any():
            return self
        owed = np.maximum(self.amount - paid, 0.0)
        settle = np.flatnonzero(overdue & (owed > 0.005))
        paid_full = self.paid_full.copy()
        paid_full[overdue] = day - 1
        return CustomerHistory(
            issued=self.issued, due=self.due, amount=self.amount, paid_full=paid_full,
            reminders=self.reminders, collection=self.collection,
            pay_invoice=np.concatenate([self.pay_invoice, settle.astype(np.intp)]),
            paid_on=np.concatenate([self.paid_on, np.full(len(settle), day - 1)]),
            pay_amount=np.concatenate([self.pay_amount, owed[settle]]),
        )  # fmt: skip

    @classmethod
    def empty(cls) -> CustomerHistory:
        """A customer the company has never invoiced (a thin file)."""
        none = np.empty(0, dtype=np.float64)
        return cls(none, none, none, none, none, none, np.empty(0, dtype=np.intp), none, none)


_INVOICE_ARRAYS = ("issued", "due", "amount", "paid_full", "reminders", "collection")
_PAYMENT_ARRAYS = ("pay_invoice", "paid_on", "pay_amount")


def day_numbers(values: Sequence) -> np.ndarray:
    """Dates (``datetime.date`` or None) as days since 1970-01-01, NaN for None."""
    stamps = np.array(values, dtype="datetime64[D]")
    days = stamps.astype(np.int64).astype(np.float64)
    days[np.isnat(stamps)] = np.nan
    return days


def cutoff_day(applied_at: datetime) -> float:
    """The application's UTC calendar day as days since 1970: events before it count."""
    if applied_at.tzinfo is not None:
        applied_at = applied_at.astimezone(UTC)
    return float((applied_at.date() - _EPOCH_DATE).days)


def applicant_history_aggregates(history: CustomerHistory, *, day: float) -> dict[str, float]:
    """The raw aggregates (:func:`history_aggregates`) of one applicant on cut-off ``day``."""
    raw = _applicant_kernel(history, day)
    return dict(zip(_RAW_AGGREGATES, raw[:, 0].tolist(), strict=True))


def _applicant_kernel(history: CustomerHistory, day: float) -> np.ndarray:
    """The kernel's block for one applicant on cut-off ``day`` (read-only; kept per day)."""
    block = history._aggregates.get(day)
    if block is None:
        block = _applicant_block(history, day)
        block.flags.writeable = False
        history._aggregates[day] = block
    return block


def _applicant_block(history: CustomerHistory, day: float) -> np.ndarray:
    return _history_kernel(
        t_app=np.array([day], dtype=np.float64),
        person=np.zeros(1, dtype=np.intp),
        people=[0],
        invoice_person=np.zeros(len(history.issued), dtype=np.intp),
        issued=history.issued,
        due=history.due,
        amount=history.amount,
        paid_full=history.paid_full,
        reminders=history.reminders,
        collection=history.collection,
        pay_inv=history.pay_invoice,
        paid_on=history.paid_on,
        pay_amount=history.pay_amount,
    )
