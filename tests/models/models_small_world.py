"""A compact world in the layout of docs/world-format.md, for model tests.

Tests use the project's generator when it is installed; this builder keeps the model tests
independent of it and gives exact control over edge cases (thin files, open invoices).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from data_contracts.world_folder import FORMAT_VERSION

CLASSES = np.array(["very_good", "good", "satisfactory", "poor"])
PRODUCTS = np.array(
    ["heat_pump", "solar_panels", "electronics", "phone", "smart_home", "home_appliance"]
)


@dataclass
class SmallWorld:
    customers: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    bureau_reports: pd.DataFrame
    bureau_default_entries: pd.DataFrame
    applications: pd.DataFrame
    protected_attributes: pd.DataFrame
    applications_truth: pd.DataFrame
    as_of: date = field(default=date(2025, 6, 1))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def build_small_world(*, customers: int, seed: int, as_of: date = date(2025, 6, 1)) -> SmallWorld:
    rng = np.random.default_rng(seed)
    n = customers
    codes = np.array([f"P{i:07d}" for i in range(n)])
    z = rng.normal(size=n)
    as_of_day = np.datetime64(as_of, "D")
    thin = rng.random(n) < 0.12
    since = as_of_day - rng.integers(13 * 30, 60 * 30, n).astype("timedelta64[D]")
    start = np.maximum(since, as_of_day - np.timedelta64(48 * 30, "D"))
    n_inv = np.where(thin, 0, ((as_of_day - start).astype(int) // 30))

    cust = np.repeat(np.arange(n), n_inv)
    k = np.arange(len(cust)) - np.repeat(np.cumsum(n_inv) - n_inv, n_inv)
    issued = start[cust] + (k * 30).astype("timedelta64[D]")
    due = issued + np.timedelta64(14, "D")
    amount = np.round(rng.lognormal(3.5, 0.4, len(cust)), 2)
    p_late = _sigmoid(-1.8 - 1.3 * z[cust])
    late = rng.random(len(cust)) < p_late
    delay = np.where(late, rng.exponential(12 + 25 * _sigmoid(-z[cust]), len(cust)) + 1, 0)
    delay = np.where(late, delay, -rng.integers(0, 10, len(cust)))
    never = rng.random(len(cust)) < _sigmoid(-5.5 - 1.5 * z[cust])
    paid_on = due + np.round(delay).astype("timedelta64[D]")
    unpaid = never | (paid_on >= as_of_day)
    split = (rng.random(len(cust)) < 0.1) & ~unpaid
    reminders = np.clip(np.where(unpaid, (as_of_day - due).astype(int), delay) // 14, 0, 3)
    overdue_days = np.where(unpaid, (as_of_day - due).astype(int), delay)
    to_collection = overdue_days > 60
    invoice_ids = np.array([f"I{i:08d}" for i in range(len(cust))])
    invoices = pd.DataFrame(
        {
            "invoice_id": invoice_ids,
            "personal_code": codes[cust],
            "issued_on": issued.astype("datetime64[s]"),
            "due_on": due.astype("datetime64[s]"),
            "amount_eur": amount,
            "paid_eur": np.where(unpaid, 0.0, amount),
            "paid_in_full_on": np.where(unpaid, np.datetime64("NaT"), paid_on).astype(
                "datetime64[s]"
            ),
            "reminders_sent": reminders.astype(np.int64),
            "sent_to_collection_on": np.where(
                to_collection, due + np.timedelta64(60, "D"), np.datetime64("NaT")
            ).astype("datetime64[s]"),
        }
    )
    for col in ("issued_on", "due_on", "paid_in_full_on", "sent_to_collection_on"):
        invoices[col] = invoices[col].dt.date.where(invoices[col].notna(), None)
    paid_idx = np.flatnonzero(~unpaid)
    first = np.where(split[paid_idx], np.round(amount[paid_idx] / 2, 2), amount[paid_idx])
    first_on = np.where(split[paid_idx], paid_on[paid_idx] - np.timedelta64(5, "D"),
                        paid_on[paid_idx])
    second_idx = paid_idx[split[paid_idx]]
    pay_inv = np.concatenate([paid_idx, second_idx])
    pay_amount = np.concatenate([first, amount[second_idx] - np.round(amount[second_idx] / 2, 2)])
    pay_on = np.concatenate([first_on, paid_on[second_idx]])
    payments = pd.DataFrame(
        {
            "payment_id": [f"Y{i:08d}" for i in range(len(pay_inv))],
            "invoice_id": invoice_ids[pay_inv],
            "paid_on": pd.to_datetime(pay_on).date,
            "amount_eur": np.round(pay_amount, 2),
        }
    )

    app_day = as_of_day - rng.integers(12 * 30 + 1, 24 * 30, n).astype("timedelta64[D]")
    applied_at = pd.to_datetime(app_day).tz_localize("UTC") + pd.to_timedelta(
        rng.integers(8 * 3600, 20 * 3600, n), unit="s"
    )
    amount_app = np.round(rng.lognormal(6.5, 0.8, n), 2)
    term = rng.choice([3, 6, 12, 24, 36, 48, 60], n)
    score = np.clip(np.round(620 + 130 * z + rng.normal(0, 60, n)), 0, 1000).astype(int)
    cls = CLASSES[3 - np.digitize(score, [480, 600, 720])]
    open_def = rng.poisson(0.8 * _sigmoid(-1.5 - 1.5 * z))
    closed_def = rng.poisson(1.2 * _sigmoid(-1.0 - 1.0 * z))
    report_ids = np.array([f"R{i:07d}" for i in range(n)])
    bureau = pd.DataFrame(
        {
            "report_id": report_ids,
            "personal_code": codes,
            "requested_at": applied_at,
            "score": score,
            "risk_class": cls,
            "pd_band_low": np.select([cls == c for c in CLASSES], [0.0, 0.02, 0.06, 0.15]),
            "pd_band_high": np.select([cls == c for c in CLASSES], [0.019, 0.059, 0.149, 1.0]),
            "open_default_count": open_def,
            "closed_default_count": closed_def,
        }
    )
    true_pd = _sigmoid(-2.8 - 1.4 * z + 0.5 * thin + 0.15 * np.log(amount_app / term / 50))
    applications = pd.DataFrame(
        {
            "application_id": [f"A{i:07d}" for i in range(n)],
            "personal_code": codes,
            "applied_at": applied_at,
            "amount_eur": amount_app,
            "term_months": term.astype(np.int64),
            "product_category": rng.choice(PRODUCTS, n),
            "channel": rng.choice(["web", "store", "phone"], n),
            "bureau_report_id": report_ids,
            "defaulted_12m": rng.random(n) < true_pd,
        }
    )
    customers_df = pd.DataFrame(
        {
            "personal_code": codes,
            "birth_date": pd.to_datetime(
                as_of_day - rng.integers(18 * 365, 80 * 365, n).astype("timedelta64[D]")
            ).date,
            "customer_since": [None if t else d for t, d in zip(thin, pd.to_datetime(since).date,
                                                                  strict=True)],
            "relationship_ended_on": None,
            "segment": rng.choice(["energy", "telecom", "smart_home"], n),
        }
    )
    protected = pd.DataFrame(
        {
            "personal_code": codes,
            "sex": rng.choice(["F", "M"], n),
            "language": rng.choice(["et", "ru", "en"], n),
            "region": rng.choice(["Harju", "Tartu", "Ida-Viru"], n),
        }
    )
    truth = pd.DataFrame(
        {"application_id": applications["application_id"], "true_pd": true_pd,
         "latent_creditworthiness": z}
    )
    entries = pd.DataFrame(
        {"report_id": [], "creditor_sector": [], "amount_eur": [], "started_on": [],
         "ended_on": []}
    )
    return SmallWorld(customers_df, invoices, payments, bureau, entries, applications, protected,
                      truth, as_of)


def write_small_world(world: SmallWorld, path) -> None:
    """Write the tables in the world folder layout (Parquet)."""
    from pathlib import Path

    root = Path(path)
    (root / "protected").mkdir(parents=True, exist_ok=True)
    (root / "truth").mkdir(parents=True, exist_ok=True)
    for name in ("customers", "invoices", "payments", "bureau_reports",
                 "bureau_default_entries", "applications"):
        getattr(world, name).to_parquet(root / f"{name}.parquet", index=False)
    world.protected_attributes.to_parquet(root / "protected" / "attributes.parquet", index=False)
    world.applications_truth.to_parquet(root / "truth" / "applications_truth.parquet",
                                        index=False)
    manifest = {"format_version": FORMAT_VERSION, "as_of": world.as_of.isoformat()}
    (root / "manifest.json").write_text(json.dumps(manifest))
