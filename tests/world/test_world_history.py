"""Internal payment history: every invoice and payment adds up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.world import World
from models.world.calendar import months_before


def test_each_person_gets_at_most_48_monthly_invoices_inside_their_relationship(
    world: World,
) -> None:
    invoices = world.invoices.merge(world.customers, on="personal_code")
    assert invoices.groupby("personal_code").size().max() <= 48
    assert (invoices["issued_on"] >= invoices["customer_since"]).all()
    history_start = pd.Timestamp(months_before(world.as_of, 48).replace(day=1))
    assert (invoices["issued_on"] >= history_start).all()
    assert (invoices["issued_on"] < pd.Timestamp(world.as_of)).all()
    ended = invoices["relationship_ended_on"].notna()
    assert (invoices.loc[ended, "issued_on"] < invoices.loc[ended, "relationship_ended_on"]).all()
    assert (invoices["due_on"] > invoices["issued_on"]).all()


def test_payments_add_up_to_what_each_invoice_says_was_paid(world: World) -> None:
    paid = world.payments.groupby("invoice_id")["amount_eur"].sum()
    invoices = world.invoices.set_index("invoice_id")
    summed = paid.reindex(invoices.index, fill_value=0.0)
    assert np.allclose(summed, invoices["paid_eur"], atol=0.005)
    assert (invoices["paid_eur"] <= invoices["amount_eur"] + 0.005).all()
    assert (world.payments["paid_on"] <= pd.Timestamp(world.as_of)).all()


def test_paid_in_full_on_is_set_exactly_when_the_invoice_is_fully_paid(world: World) -> None:
    invoices = world.invoices
    fully_paid = np.isclose(invoices["paid_eur"], invoices["amount_eur"], atol=0.005)
    assert (fully_paid == invoices["paid_in_full_on"].notna()).all()
    last_payment = world.payments.groupby("invoice_id")["paid_on"].max()
    settled = invoices.dropna(subset=["paid_in_full_on"]).set_index("invoice_id")
    assert (settled["paid_in_full_on"] == last_payment.reindex(settled.index)).all()


def test_partial_payments_appear_as_several_rows(world: World) -> None:
    per_invoice = world.payments.groupby("invoice_id").size()
    assert per_invoice.max() == 3
    assert 0.01 < (per_invoice > 1).mean() < 0.2


def test_reminders_and_collection_follow_days_past_due(world: World) -> None:
    invoices = world.invoices
    as_of = pd.Timestamp(world.as_of)
    settled = invoices["paid_in_full_on"].fillna(as_of + pd.Timedelta(days=1))
    days_late = (settled.clip(upper=as_of) - invoices["due_on"]).dt.days
    assert invoices["reminders_sent"].between(0, 3).all()
    assert (invoices.loc[days_late <= 7, "reminders_sent"] == 0).all()
    collected = invoices["sent_to_collection_on"].notna()
    assert (days_late[collected] >= 60).all()
    assert (invoices.loc[collected, "reminders_sent"] == 3).all()
    assert 0.002 < collected.mean() < 0.05


def test_heating_raises_energy_bills_in_winter(world: World) -> None:
    energy = world.customers.loc[world.customers["segment"] == "energy", "personal_code"]
    bills = world.invoices[world.invoices["personal_code"].isin(energy)]
    by_month = bills.groupby(bills["issued_on"].dt.month)["amount_eur"].mean()
    assert by_month[1] > 1.5 * by_month[7]


def test_people_who_default_keep_falling_behind_on_their_bills(world: World) -> None:
    applications = world.applications.assign(
        applied=lambda frame: frame["applied_at"].dt.tz_localize(None)
    )
    later = world.invoices.merge(applications, on="personal_code")
    later = later[later["issued_on"] > later["applied"] + pd.Timedelta(days=90)]
    reminded = later.groupby("defaulted_12m")["reminders_sent"].mean()
    assert reminded[True] > 2 * reminded[False]
