"""Features: estimator conventions, one code path for batch and live, no leakage."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.features import (
    FEATURE_NAMES,
    BureauFacts,
    CustomerHistory,
    DaysToMonths,
    FeatureInputError,
    SafeRatio,
    applicant_features,
    applicant_history_aggregates,
    application_features,
    history_aggregates,
)
from scoring.domain.reasons import FACTORS, model_reasons


@parametrize_with_checks([DaysToMonths(), SafeRatio(), SafeRatio(denominator_index=0)])
def test_numeric_transformers_follow_sklearn_conventions(estimator, check):
    check(estimator)


def test_safe_ratio_fills_zero_denominators_and_names_outputs():
    ratio = SafeRatio().fit(pd.DataFrame({"dpd_sum": [10.0, 3.0], "count": [4.0, 0.0]}))
    out = ratio.transform(pd.DataFrame({"dpd_sum": [10.0, 3.0], "count": [4.0, 0.0]}))
    assert out[0, 0] == 2.5 and np.isnan(out[1, 0])
    assert list(ratio.get_feature_names_out()) == ["dpd_sum_per_count"]


def _tables(world):
    return dict(applications=world.applications, invoices=world.invoices,
                payments=world.payments, bureau_reports=world.bureau_reports)


def _one_customer(world, application_id, key="personal_code"):
    app = world.applications[world.applications.application_id == application_id]
    person = app[key].iloc[0]
    inv = world.invoices[world.invoices[key] == person]
    return dict(
        applications=app,
        invoices=inv,
        payments=world.payments[world.payments.invoice_id.isin(inv.invoice_id)],
        bureau_reports=world.bureau_reports[
            world.bureau_reports.report_id == app.bureau_report_id.iloc[0]
        ],
    )


def test_one_application_alone_equals_its_row_in_the_batch(small_world):
    batch = application_features(**_tables(small_world))
    apps = small_world.applications
    thin = apps.personal_code.isin(small_world.invoices.personal_code) == False  # noqa: E712
    chosen = list(apps.application_id[~thin].iloc[:15]) + list(apps.application_id[thin].iloc[:3])
    for application_id in chosen:
        alone = application_features(**_one_customer(small_world, application_id))
        pd.testing.assert_frame_equal(alone, batch.loc[[application_id]], check_exact=True)


def test_live_service_may_key_the_person_by_pseudonym(small_world):
    application_id = small_world.applications.application_id.iloc[0]
    tables = _one_customer(small_world, application_id)
    pseudonymised = {
        name: frame.rename(columns={"personal_code": "customer_key"}).assign(
            **({"customer_key": "pseudo-1"} if "personal_code" in frame.columns else {})
        )
        for name, frame in tables.items()
    }
    live = application_features(**pseudonymised, customer_key="customer_key")
    pd.testing.assert_frame_equal(live, application_features(**tables), check_exact=True)



def test_the_live_array_path_equals_the_batch_for_each_application_and_its_candidates(
    small_world,
):
    batch = application_features(**_tables(small_world))
    apps = small_world.applications
    thin = ~apps.personal_code.isin(small_world.invoices.personal_code)
    chosen = list(apps.application_id[~thin].iloc[:40]) + list(apps.application_id[thin].iloc[:5])
    for application_id in chosen:
        tables = _one_customer(small_world, application_id)
        app = tables["applications"].iloc[0]
        report = tables["bureau_reports"].iloc[0]
        history = CustomerHistory.from_frames(tables["invoices"], tables["payments"])
        applied_at = pd.Timestamp(app.applied_at).to_pydatetime()
        facts = BureauFacts(
            report.score, report.risk_class, report.open_default_count,
            report.closed_default_count,
        )  # fmt: skip
        live = applicant_features(
            history=history, bureau=facts, applied_at=applied_at,
            product_category=app.product_category,
            amounts=[app.amount_eur], terms=[app.term_months],
        )  # fmt: skip
        np.testing.assert_array_equal(live, batch.loc[[application_id]].to_numpy())
        # Candidate purchases of one applicant: each row equals that application in a batch.
        amounts, terms = [app.amount_eur * 0.5, app.amount_eur], [48, 6]
        candidates = applicant_features(
            history=history, bureau=facts, applied_at=applied_at,
            product_category=app.product_category, amounts=amounts, terms=terms,
        )  # fmt: skip
        as_batch = tables["applications"].loc[tables["applications"].index.repeat(2)].assign(
            application_id=["c0", "c1"], amount_eur=amounts, term_months=terms
        )
        expected = application_features(**{**tables, "applications": as_batch})
        np.testing.assert_array_equal(candidates, expected.to_numpy())
        raw = applicant_history_aggregates(
            history, day=float(np.floor(pd.Timestamp(applied_at).timestamp() / 86400))
        )
        batch_raw = history_aggregates(
            applications=tables["applications"], invoices=tables["invoices"],
            payments=tables["payments"],
        )  # fmt: skip
        assert raw == pytest.approx(batch_raw.iloc[0].to_dict(), nan_ok=True, abs=0, rel=0)


def test_the_live_path_refuses_what_it_cannot_read():
    empty = CustomerHistory.empty()
    facts = BureauFacts(650.0, "good", 0, 0)
    at = pd.Timestamp("2026-01-05T10:00Z").to_pydatetime()
    common = dict(history=empty, applied_at=at, amounts=[100.0], terms=[12])
    with pytest.raises(FeatureInputError, match="unknown product_category"):
        applicant_features(bureau=facts, product_category="yacht", **common)
    with pytest.raises(FeatureInputError, match="unknown bureau risk_class"):
        applicant_features(
            bureau=BureauFacts(650.0, "splendid", 0, 0), product_category="phone", **common
        )
    with pytest.raises(FeatureInputError, match="term_months must be a positive"):
        applicant_features(
            history=empty, bureau=facts, applied_at=at, product_category="phone",
            amounts=[100.0], terms=[0],
        )  # fmt: skip
    with pytest.raises(FeatureInputError, match="outside the customer's history"):
        CustomerHistory(*([np.zeros(1)] * 6), np.array([3]), np.zeros(1), np.zeros(1))
    thin = applicant_features(bureau=facts, product_category="phone", **common)
    assert thin[0, FEATURE_NAMES.index("thin_file")] == 1.0

def test_events_on_or_after_the_application_day_do_not_change_features(small_world):
    world = small_world
    batch = application_features(**_tables(world))
    apps = world.applications.set_index("application_id")
    applied_day = pd.to_datetime(apps.applied_at).dt.tz_convert(None).dt.normalize()
    day_of = applied_day.reindex(world.applications.application_id).to_numpy()
    by_person = pd.Series(day_of, index=world.applications.personal_code.to_numpy())

    # Future invoices (a huge unpaid one), and every existing invoice settled today.
    future = world.invoices.groupby("personal_code").head(1).copy()
    future["invoice_id"] = "FUT-" + future["invoice_id"]
    start = by_person.reindex(future.personal_code).to_numpy()
    future["issued_on"] = (start + np.timedelta64(0, "D")).astype("datetime64[s]")
    future["due_on"] = (start + np.timedelta64(3, "D")).astype("datetime64[s]")
    future["amount_eur"] = 99_999.0
    future["paid_in_full_on"] = pd.NaT
    future["sent_to_collection_on"] = (start + np.timedelta64(40, "D")).astype("datetime64[s]")
    invoices = pd.concat([world.invoices, future], ignore_index=True)
    late_pay = world.invoices[["invoice_id", "personal_code", "amount_eur"]].copy()
    late_pay["paid_on"] = pd.to_datetime(by_person.reindex(late_pay.personal_code).to_numpy())
    payments = pd.concat(
        [world.payments, late_pay.assign(payment_id="LATE")[world.payments.columns]],
        ignore_index=True,
    )
    changed = application_features(applications=world.applications, invoices=invoices,
                                   payments=payments, bureau_reports=world.bureau_reports)
    pd.testing.assert_frame_equal(changed, batch, check_exact=True)


def _hand_world():
    day = pd.Timestamp
    applications = pd.DataFrame({
        "application_id": ["a1"], "personal_code": ["p1"],
        "applied_at": [day("2024-07-01 10:00", tz="UTC")], "amount_eur": [1200.0],
        "term_months": [12], "product_category": ["heat_pump"], "bureau_report_id": ["r1"],
    })
    invoices = pd.DataFrame({
        "invoice_id": ["i1", "i2", "i3"], "personal_code": ["p1"] * 3,
        "issued_on": [date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)],
        "due_on": [date(2024, 4, 15), date(2024, 5, 15), date(2024, 6, 15)],
        "amount_eur": [40.0, 60.0, 50.0], "paid_eur": [40.0, 60.0, 0.0],
        "paid_in_full_on": [date(2024, 4, 10), date(2024, 5, 25), None],
        "reminders_sent": [0, 1, 3], "sent_to_collection_on": [None, None, None],
    })
    payments = pd.DataFrame({
        "payment_id": ["y1", "y2", "y3"], "invoice_id": ["i1", "i2", "i2"],
        "paid_on": [date(2024, 4, 10), date(2024, 5, 20), date(2024, 5, 25)],
        "amount_eur": [40.0, 30.0, 30.0],
    })
    bureau = pd.DataFrame({
        "report_id": ["r1"], "personal_code": ["p1"], "score": [640], "risk_class": ["good"],
        "open_default_count": [0], "closed_default_count": [1],
    })
    return dict(applications=applications, invoices=invoices, payments=payments,
                bureau_reports=bureau)


def test_hand_computed_history():
    row = application_features(**_hand_world()).iloc[0]
    assert row["tenure_months"] == 2  # 91 days since the first invoice
    assert row["thin_file"] == 0 and row["invoice_count_24m"] == 3
    assert row["current_dpd"] == 16  # i3 due 15 June, open on 1 July
    assert row["max_dpd_3m"] == 16 and row["late_payments_12m"] == 2
    assert row["mean_dpd_12m"] == pytest.approx((0 + 10 + 16) / 3)
    assert row["months_since_last_late_payment"] == 0
    assert row["reminders_12m"] == 1 + 1  # i3: only one reminder can have gone out by 1 July
    assert row["current_balance_eur"] == 50.0
    assert row["max_balance_12m_eur"] == 60.0  # on 2 May: i2 billed, unpaid
    assert row["avg_invoice_eur_12m"] == 50.0
    assert row["partial_payment_share_12m"] == pytest.approx(1 / 3)
    assert row["pay_margin_mean_12m"] == (5 - 10) / 2  # i1 5 days early, i2 10 late; i3 open
    assert row["monthly_instalment_eur"] == 100.0
    assert row["instalment_to_avg_invoice"] == 2.0
    assert row["bureau_class_rank"] == 1 and row["product_category_code"] == 0
    assert list(row.index) == FEATURE_NAMES


def test_thin_file_has_no_history_ratios():
    tables = _hand_world()
    tables["invoices"] = tables["invoices"].iloc[0:0]
    tables["payments"] = tables["payments"].iloc[0:0]
    row = application_features(**tables).iloc[0]
    assert row["thin_file"] == 1 and row["tenure_months"] == 0
    assert np.isnan(row["instalment_to_avg_invoice"]) and np.isnan(row["mean_dpd_12m"])
    assert np.isnan(row["pay_margin_mean_12m"])


def test_every_model_feature_belongs_to_exactly_one_reason_factor():
    listed = [feature for factor in FACTORS for feature in factor.features]
    assert sorted(listed) == sorted(FEATURE_NAMES)


def test_a_late_payment_margin_is_explained_as_payment_timing():
    (reason,) = model_reasons({"pay_margin_mean_12m": 0.3, "bureau_score": -0.1})
    assert reason.code == "R12_PAYMENT_TIMING"
    assert "due date" in reason.text_en and "maksetähtaja" in reason.text_et


def _with_invoices(rows):
    """The hand world (applied 1 July 2024) with these invoices, each paid in one payment."""
    tables = _hand_world()
    invoices = pd.DataFrame(
        [{"invoice_id": f"m{n}", "personal_code": "p1", "issued_on": date(2023, 1, 1),
          "due_on": due, "amount_eur": 10.0, "paid_eur": 10.0, "paid_in_full_on": paid,
          "reminders_sent": 0, "sent_to_collection_on": None}
         for n, (due, paid) in enumerate(rows)]
    )  # fmt: skip
    tables["invoices"] = invoices
    tables["payments"] = pd.DataFrame({
        "payment_id": [f"y{n}" for n in range(len(rows))], "invoice_id": invoices.invoice_id,
        "paid_on": [paid or due for due, paid in rows], "amount_eur": 10.0,
    })  # fmt: skip
    return tables


def test_payment_margin_averages_days_paid_before_the_due_date_floored_at_60_late():
    tables = _with_invoices([
        (date(2024, 6, 20), date(2024, 6, 8)),  # 12 days early
        (date(2024, 1, 10), date(2024, 4, 9)),  # 90 days late, counted as 60
        (date(2024, 3, 1), date(2024, 3, 1)),  # on the day: 0
    ])  # fmt: skip
    row = application_features(**tables).iloc[0]
    assert row["pay_margin_mean_12m"] == (12 - 60 + 0) / 3


def test_payment_margin_counts_only_what_was_settled_and_due_in_the_year_before():
    tables = _with_invoices([
        (date(2024, 6, 10), date(2024, 6, 1)),  # counts: 9 days early
        (date(2024, 6, 25), date(2024, 7, 1)),  # settled on the application day: not yet
        (date(2024, 7, 5), date(2024, 6, 20)),  # paid early but due after the application
        (date(2023, 6, 30), date(2023, 6, 1)),  # due more than 365 days before
        (date(2024, 5, 1), None),  # never settled: the days-past-due features see it
    ])  # fmt: skip
    row = application_features(**tables).iloc[0]
    assert row["pay_margin_mean_12m"] == 9


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t["applications"].assign(product_category="yacht"), "product_category"),
        (lambda t: t["applications"].assign(term_months=0), "term_months"),
        (lambda t: t["applications"].drop(columns="applied_at"), "applied_at"),
        (lambda t: t["applications"].assign(bureau_report_id="nope"), "nope"),
    ],
)
def test_bad_application_input_is_named(change, message):
    tables = _hand_world()
    tables["applications"] = change(tables)
    with pytest.raises(FeatureInputError, match=message):
        application_features(**tables)
