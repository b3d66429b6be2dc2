"""Features: estimator conventions, one code path for batch and live, no leakage."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from scoring.domain.reasons import FACTORS, ReasonFacts, model_reasons
from scoring.features import (
    FEATURE_NAMES,
    PRODUCT_CATEGORY_CODE,
    BureauFacts,
    CustomerHistory,
    DaysToMonths,
    FeatureInputError,
    SafeRatio,
    applicant_features,
    applicant_history_aggregates,
    application_features,
    cutoff_day,
    history_aggregates,
)
from scoring.features.history import _RAW_AGGREGATES


@parametrize_with_checks([DaysToMonths(), SafeRatio(), SafeRatio(denominator_index=0)])
def test_numeric_transformers_follow_sklearn_conventions(estimator, check):
    check(estimator)


def test_safe_ratio_fills_zero_denominators_and_names_outputs():
    ratio = SafeRatio().fit(pd.DataFrame({"dpd_sum": [10.0, 3.0], "count": [4.0, 0.0]}))
    out = ratio.transform(pd.DataFrame({"dpd_sum": [10.0, 3.0], "count": [4.0, 0.0]}))
    assert out[0, 0] == 2.5 and np.isnan(out[1, 0])
    assert list(ratio.get_feature_names_out()) == ["dpd_sum_per_count"]


def _tables(world):
    return dict(
        applications=world.applications,
        invoices=world.invoices,
        payments=world.payments,
        bureau_reports=world.bureau_reports,
    )


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
        as_batch = (
            tables["applications"]
            .loc[tables["applications"].index.repeat(2)]
            .assign(application_id=["c0", "c1"], amount_eur=amounts, term_months=terms)
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


def _assert_same_bits(actual, expected):
    """Equal to the last bit: the same numbers, NaN where NaN, the same sign on every zero."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))


def _edge_world(seed=3):
    """Customers whose histories take every branch of the live path, plus random ones.

    Application day D is the cut-off: thin file; invoices never paid, some in collection;
    invoices issued on or after D (one paid before it was issued); events on D itself;
    missing dates; many awkward part payments listed out of invoice order; balances that
    round to another cent when their payments are added in another order or pairwise; three
    applications of one customer, two of them on one day; zero and negative amounts.
    """
    rng = np.random.default_rng(seed)
    day0 = date(2025, 3, 10)
    apps, invoices, payments, reports = [], [], [], []

    def d(offset):
        return None if offset is None else day0 + pd.Timedelta(days=int(offset))

    def customer(key, invoice_rows, payment_rows, app_offsets=((0, 10),)):
        reports.append(
            {"report_id": f"R-{key}", "personal_code": key, "score": int(rng.integers(300, 900)),
             "risk_class": ["very_good", "good", "satisfactory", "poor"][int(rng.integers(4))],
             "open_default_count": int(rng.integers(3)), "closed_default_count": 0}
        )  # fmt: skip
        for a, (offset, hour) in enumerate(app_offsets):
            applied_at = pd.Timestamp(d(offset)).tz_localize("UTC") + pd.Timedelta(hours=hour)
            apps.append(
                {"application_id": f"A-{key}-{a}", "personal_code": key, "applied_at": applied_at,
                 "amount_eur": float(rng.integers(100, 500_000)) / 100,
                 "term_months": int(rng.choice([3, 6, 12, 24, 36, 48, 60])),
                 "product_category": str(rng.choice(list(PRODUCT_CATEGORY_CODE))),
                 "bureau_report_id": f"R-{key}"}
            )  # fmt: skip
        for i, (issued, due, amount, paid_full, reminders, collection) in enumerate(invoice_rows):
            invoices.append(
                {"invoice_id": f"I-{key}-{i}", "personal_code": key, "issued_on": d(issued),
                 "due_on": d(due), "amount_eur": amount, "paid_in_full_on": d(paid_full),
                 "reminders_sent": reminders, "sent_to_collection_on": d(collection)}
            )  # fmt: skip
        for j, (i, paid_on, amount) in enumerate(payment_rows):
            payments.append(
                {"payment_id": f"Y-{key}-{j}", "invoice_id": f"I-{key}-{i}",
                 "paid_on": d(paid_on), "amount_eur": amount}
            )  # fmt: skip

    customer("thin", [], [], app_offsets=((0, 10), (40, 8)))
    customer(
        "unpaid",
        [(-300, -286, 40.0, None, 4, -200), (-120, -106, 55.5, None, 2, None),
         (-40, -26, 19.99, None, 1, 20), (-10, 4, 70.0, None, 0, None)],
        [],
    )  # fmt: skip
    customer(
        "future",
        [(0, 14, 30.0, None, 0, None), (3, 17, 45.0, 10, 0, None),
         (-20, -6, 12.5, -8, 0, None)],
        [(1, -5, 45.0), (2, -8, 12.5), (0, 2, 10.0)],
    )  # fmt: skip
    customer(
        "same_day",
        [(-1, 0, 25.0, 0, 0, None), (-10, -1, 60.0, 0, 1, 0), (0, 14, 99.0, None, 0, None),
         (-30, -16, 15.0, -16, 0, None)],
        [(0, 0, 25.0), (1, -3, 20.0), (1, 0, 40.0), (3, -16, 15.0)],
    )  # fmt: skip
    customer(
        "missing_dates",
        [(-50, None, 30.0, None, 2, None), (-60, -46, 20.0, None, 1, None),
         (None, -5, 80.0, None, 0, None), (-90, -76, 45.0, -70, float("nan"), None)],
        [(1, -40, 10.0), (1, None, 10.0), (3, -70, 45.0), (2, -3, 80.0)],
    )  # fmt: skip
    awkward = [(-700 + 23 * i, -686 + 23 * i, 10 + i / 7, None, i % 3, None) for i in range(30)]
    parts = [(i, -690 + 23 * i + k, round((10 + i / 7) / 3, 2)) for i in range(30) for k in (1, 5)]
    customer("unordered", awkward, [parts[k] for k in rng.permutation(len(parts))])
    customer(
        "repeat",
        [(-200, -186, 33.3, -190, 0, None), (-100, -86, 44.4, -60, 2, None),
         (-5, 9, 55.5, None, 0, None), (100, 114, 66.6, 130, 1, None)],
        [(1, -80, 20.0), (0, -190, 33.3), (1, -60, 24.4), (3, 130, 66.6)],
        app_offsets=((0, 9), (0, 17), (365, 12)),
    )  # fmt: skip
    # Paid in invoice order the balance is 0.0049999..., in listed order 0.0050000...: one
    # cent apart after rounding, so the payments must be added in invoice order.
    customer(
        "payment_order",
        [(-60, -46, 202.085, -40, 0, None), (-50, -36, 0.0, -30, 0, None)],
        [(1, -35, 94.86), (1, -32, 24.93), (0, -40, 82.29)],
    )
    # Added one by one the ten payments leave 0.0050000...; added pairwise (np.sum's way),
    # 0.0049999...: a cent apart after rounding.
    parts = [29.13, 27.67, 25.47, 49.77, 40.38, 39.63, 35.01, 31.11, 17.05, 49.44]
    customer(
        "sequential_sum",
        [(-100, -86, 344.665, -40, 0, None)],
        [(0, -85 + 5 * k, amount) for k, amount in enumerate(parts)],
    )
    customer(
        "credit_note",
        [(-60, -46, 0.0, -60, 0, None), (-30, -16, -15.5, -30, 0, None),
         (-20, -6, 40.0, None, 1, None)],
        [(0, -60, 0.0), (2, -10, 0.1), (2, -9, 0.2)],
    )  # fmt: skip
    for c in range(30):
        rows, pays = [], []
        for i in range(int(rng.integers(0, 40))):
            issued = int(rng.integers(-800, 60))
            due = issued + int(rng.integers(0, 30))
            amount = float(rng.integers(1, 50_000)) / 100
            paid_full = None if rng.random() < 0.2 else due + int(rng.integers(-20, 120))
            collection = due + 60 if paid_full is None and rng.random() < 0.5 else None
            rows.append((issued, due, amount, paid_full, int(rng.integers(0, 5)), collection))
            if paid_full is not None:
                split = int(rng.integers(1, 4))
                for k in range(split):
                    pays.append((i, paid_full - 7 * k, round(amount / split, 2)))
        order = rng.permutation(len(pays)) if c % 2 else np.arange(len(pays))
        customer(f"random{c}", rows, [pays[k] for k in order], ((0, int(rng.integers(24))),))
    return dict(
        applications=pd.DataFrame(apps), invoices=pd.DataFrame(invoices),
        payments=pd.DataFrame(payments), bureau_reports=pd.DataFrame(reports),
    )  # fmt: skip


def test_the_live_path_equals_the_batch_on_edge_case_histories():
    world = _edge_world()
    apps = world["applications"]
    batch = application_features(**world).loc[apps.application_id]
    batch_raw = history_aggregates(
        applications=apps, invoices=world["invoices"], payments=world["payments"]
    )  # fmt: skip
    for position, app in enumerate(apps.itertuples(index=False)):
        invoices = world["invoices"][world["invoices"].personal_code == app.personal_code]
        payments = world["payments"][world["payments"].invoice_id.isin(invoices.invoice_id)]
        report = world["bureau_reports"].set_index("report_id").loc[app.bureau_report_id]
        history = CustomerHistory.from_frames(invoices, payments)
        facts = BureauFacts(
            report.score, report.risk_class, report.open_default_count,
            report.closed_default_count,
        )  # fmt: skip
        applied_at = app.applied_at.to_pydatetime()
        amounts, terms = [app.amount_eur, 250.0, app.amount_eur * 3], [app.term_months, 6, 60]
        live = applicant_features(
            history=history, bureau=facts, applied_at=applied_at,
            product_category=app.product_category, amounts=amounts, terms=terms,
        )  # fmt: skip
        _assert_same_bits(live[:1], batch.iloc[[position]].to_numpy())
        as_batch = apps.iloc[[position] * 3].assign(
            application_id=["c0", "c1", "c2"], amount_eur=amounts, term_months=terms
        )
        _assert_same_bits(live, application_features(**{**world, "applications": as_batch}))
        raw = applicant_history_aggregates(history, day=cutoff_day(applied_at))
        assert list(raw) == list(batch_raw.columns)
        _assert_same_bits(list(raw.values()), batch_raw.iloc[position].to_numpy())
        # One application against the whole world's tables: the other customers' invoices
        # and payments are there and must match nothing.
        alone = application_features(**{**world, "applications": apps.iloc[[position]]})
        _assert_same_bits(alone, batch.iloc[[position]].to_numpy())
    # A small batch of one customer's applications on two days, with and without history.
    for key in ("thin", "repeat"):
        own = apps[apps.personal_code == key]
        small = application_features(**{**world, "applications": own})
        _assert_same_bits(small, batch.loc[own.application_id].to_numpy())


def test_the_edge_world_covers_what_it_claims():
    world = _edge_world()
    features = application_features(**world)
    raw = history_aggregates(
        applications=world["applications"], invoices=world["invoices"],
        payments=world["payments"],
    ).set_axis(world["applications"].application_id)  # fmt: skip
    assert features.loc["A-thin-0", "thin_file"] == 1
    assert features.loc["A-unpaid-0", "current_dpd"] > 0
    assert raw.loc["A-unpaid-0", "collections_24m"] == 1  # the other collection is after D
    assert raw.loc["A-future-0", "invoices_issued_12m"] == 1  # only the one before D
    assert features.loc["A-same_day-0", "current_dpd"] == 1  # due D-1, settled on D: open
    missing = raw.loc["A-missing_dates-0"]
    assert missing["invoice_count_24m"] == 3 and missing["invoices_due_12m"] == 2
    assert np.isnan(missing["reminders_12m"])  # a missing reminder count stays missing
    repeat = raw.loc[["A-repeat-0", "A-repeat-1", "A-repeat-2"]]
    assert repeat.iloc[0].equals(repeat.iloc[1]) and not repeat.iloc[0].equals(repeat.iloc[2])
    assert features.loc["A-credit_note-0", "invoice_count_24m"] == 3
    assert features.loc["A-payment_order-0", "current_balance_eur"] == 0.0
    assert features.loc["A-sequential_sum-0", "current_balance_eur"] == 0.01


def test_cutoff_day_is_the_utc_calendar_day():
    for stamp in [
        "2026-01-05T00:00:00+00:00", "2026-01-05T23:59:59.999999+00:00",
        "2026-01-05T01:30:00+02:00", "2026-01-04T23:30:00-05:00", "2026-01-05T12:00:00",
        "1969-12-31T23:59:59+00:00", "1965-06-01T12:00:00",
    ]:  # fmt: skip
        at = pd.Timestamp(stamp)
        utc = at.tz_convert("UTC") if at.tzinfo else at
        expected = float((utc.normalize().tz_localize(None) - pd.Timestamp("1970-01-01")).days)
        assert cutoff_day(at.to_pydatetime()) == expected, stamp


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
    for amounts, terms, message in [
        ([100.0, 200.0], [12, float("nan")], "term_months must be a positive"),
        ([100.0, -5.0], [12, 12], "amount_eur must be positive"),
        ([float("nan")], [12], "amount_eur must be positive"),
    ]:
        with pytest.raises(FeatureInputError, match=message):
            applicant_features(
                history=empty, bureau=facts, applied_at=at, product_category="phone",
                amounts=amounts, terms=terms,
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
    changed = application_features(
        applications=world.applications,
        invoices=invoices,
        payments=payments,
        bureau_reports=world.bureau_reports,
    )
    pd.testing.assert_frame_equal(changed, batch, check_exact=True)


def _hand_world():
    day = pd.Timestamp
    applications = pd.DataFrame(
        {
            "application_id": ["a1"],
            "personal_code": ["p1"],
            "applied_at": [day("2024-07-01 10:00", tz="UTC")],
            "amount_eur": [1200.0],
            "term_months": [12],
            "product_category": ["heat_pump"],
            "bureau_report_id": ["r1"],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["i1", "i2", "i3"],
            "personal_code": ["p1"] * 3,
            "issued_on": [date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)],
            "due_on": [date(2024, 4, 15), date(2024, 5, 15), date(2024, 6, 15)],
            "amount_eur": [40.0, 60.0, 50.0],
            "paid_eur": [40.0, 60.0, 0.0],
            "paid_in_full_on": [date(2024, 4, 10), date(2024, 5, 25), None],
            "reminders_sent": [0, 1, 3],
            "sent_to_collection_on": [None, None, None],
        }
    )
    payments = pd.DataFrame(
        {
            "payment_id": ["y1", "y2", "y3"],
            "invoice_id": ["i1", "i2", "i2"],
            "paid_on": [date(2024, 4, 10), date(2024, 5, 20), date(2024, 5, 25)],
            "amount_eur": [40.0, 30.0, 30.0],
        }
    )
    bureau = pd.DataFrame(
        {
            "report_id": ["r1"],
            "personal_code": ["p1"],
            "score": [640],
            "risk_class": ["good"],
            "open_default_count": [0],
            "closed_default_count": [1],
        }
    )
    return dict(
        applications=applications, invoices=invoices, payments=payments, bureau_reports=bureau
    )


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
    assert np.isnan(row["early_days_mean"]) and np.isnan(row["early_days_recent_mean"])


def test_every_model_feature_belongs_to_exactly_one_reason_factor():
    listed = [feature for factor in FACTORS for feature in factor.features]
    assert sorted(listed) == sorted(FEATURE_NAMES)


def test_a_missing_payment_margin_is_explained_as_too_little_history():
    # No invoice fell due in the year: the margin is missing and says nothing about timing.
    facts = ReasonFacts.from_inputs(
        dict.fromkeys(_RAW_AGGREGATES, 0.0)
        | {"has_history": 1.0, "days_since_first_invoice": 900.0, "invoice_count_24m": 8.0},
        bureau_class="good", bureau_score=700, bureau_open_defaults=0, bureau_closed_defaults=0,
        amount_eur=500.0, term_months=12, product_category="phone",
    )  # fmt: skip
    (reason,) = model_reasons(
        {"pay_margin_mean_12m": 0.3, "bureau_score": -0.1}, {"pay_margin_mean_12m": np.nan}, facts
    )
    assert reason.code == "R05_SHORT_HISTORY"
    assert "fell due in the past year" in reason.text_en and "maksetähtaeg" in reason.text_et


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


def test_days_paid_early_count_every_invoice_paid_on_time_and_weigh_recent_ones_more():
    tables = _with_invoices([
        (date(2024, 6, 21), date(2024, 6, 11)),  # 10 days early, due 10 days before
        (date(2024, 1, 3), date(2023, 12, 31)),  # 3 days early, due 180 days before
        (date(2022, 7, 1), date(2022, 6, 25)),  # 6 days early, two years before: counts
        (date(2024, 3, 1), date(2024, 3, 1)),  # on the day: 0 days early, counts
        (date(2024, 2, 1), date(2024, 2, 20)),  # late: never counted here
        (date(2024, 6, 25), date(2024, 7, 1)),  # settled on the application day: not yet
        (date(2024, 5, 1), None),  # never settled
    ])  # fmt: skip
    row = application_features(**tables).iloc[0]
    assert row["early_days_mean"] == (10 + 3 + 6 + 0) / 4
    weights = np.array([0.5 ** (10 / 180), 0.5, 0.5 ** (731 / 180), 0.5 ** (122 / 180)])
    early = np.array([10, 3, 6, 0])
    assert row["early_days_recent_mean"] == pytest.approx((weights * early).sum() / weights.sum())
    assert row["early_days_recent_mean"] > row["early_days_mean"]  # the recent bill paid early


def test_days_paid_early_are_missing_without_an_invoice_paid_on_time():
    tables = _with_invoices([(date(2024, 2, 1), date(2024, 2, 20))])
    row = application_features(**tables).iloc[0]
    assert np.isnan(row["early_days_mean"]) and np.isnan(row["early_days_recent_mean"])


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
