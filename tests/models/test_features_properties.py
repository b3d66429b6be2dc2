"""Features: one application alone equals its row in any batch, on random payment histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.features import PRODUCT_CATEGORY_CODE, application_features

DAY0 = np.datetime64("2023-01-01", "D")
CLASSES = ["very_good", "good", "satisfactory", "poor"]

day_offsets = st.integers(min_value=0, max_value=900)
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: c / 100)

invoice = st.fixed_dictionaries(
    {
        "issued": day_offsets,
        "due_after": st.integers(min_value=0, max_value=30),
        "amount": cents,
        # Days from due date to full payment (negative: early); None: never paid in full.
        "paid_after": st.none() | st.integers(min_value=-20, max_value=200),
        # Two payments instead of one, the first this many days before the last.
        "split_days": st.none() | st.integers(min_value=0, max_value=60),
        "reminders": st.integers(min_value=0, max_value=5),
        "collection_after": st.none() | st.integers(min_value=30, max_value=120),
    }
)
application = st.fixed_dictionaries(
    {
        "day": day_offsets,
        "seconds": st.integers(min_value=0, max_value=86_399),
        "amount": st.integers(min_value=1, max_value=2_000_000).map(lambda c: c / 100),
        "term": st.sampled_from([3, 6, 12, 24, 36, 48, 60]),
        "category": st.sampled_from(list(PRODUCT_CATEGORY_CODE)),
    }
)
customer = st.fixed_dictionaries(
    {
        "invoices": st.lists(invoice, max_size=12),
        "applications": st.lists(application, min_size=1, max_size=3),
        "score": st.integers(min_value=0, max_value=1000),
        "risk_class": st.sampled_from(CLASSES),
        "open_defaults": st.integers(min_value=0, max_value=3),
    }
)


def _world(customers: list[dict]) -> dict[str, pd.DataFrame]:
    """Tables of a world from drawn customers."""
    apps, invoices, payments, reports = [], [], [], []
    for c, person in enumerate(customers):
        key = f"P{c}"
        reports.append(
            {"report_id": f"R{c}", "personal_code": key, "score": person["score"],
             "risk_class": person["risk_class"], "open_default_count": person["open_defaults"],
             "closed_default_count": 0}
        )  # fmt: skip
        for a, drawn in enumerate(person["applications"]):
            applied = (DAY0 + drawn["day"]).astype("datetime64[s]") + drawn["seconds"]
            apps.append(
                {"application_id": f"A{c}-{a}", "personal_code": key,
                 "applied_at": pd.Timestamp(applied, tz="UTC"), "amount_eur": drawn["amount"],
                 "term_months": drawn["term"], "product_category": drawn["category"],
                 "bureau_report_id": f"R{c}"}
            )  # fmt: skip
        for i, drawn in enumerate(person["invoices"]):
            invoice_id = f"I{c}-{i}"
            issued = DAY0 + drawn["issued"]
            due = issued + drawn["due_after"]
            paid = None if drawn["paid_after"] is None else due + drawn["paid_after"]
            collection = (
                None if drawn["collection_after"] is None else due + drawn["collection_after"]
            )
            invoices.append(
                {"invoice_id": invoice_id, "personal_code": key, "issued_on": issued,
                 "due_on": due, "amount_eur": drawn["amount"], "paid_in_full_on": paid,
                 "reminders_sent": drawn["reminders"], "sent_to_collection_on": collection}
            )  # fmt: skip
            if paid is None:
                continue
            if drawn["split_days"] is None:
                payments.append((invoice_id, paid, drawn["amount"]))
            else:
                first = round(drawn["amount"] / 2, 2)
                payments.append((invoice_id, paid - drawn["split_days"], first))
                payments.append((invoice_id, paid, round(drawn["amount"] - first, 2)))
    invoice_frame = pd.DataFrame(
        invoices,
        columns=["invoice_id", "personal_code", "issued_on", "due_on", "amount_eur",
                 "paid_in_full_on", "reminders_sent", "sent_to_collection_on"],
    )  # fmt: skip
    for column in ("issued_on", "due_on", "paid_in_full_on", "sent_to_collection_on"):
        invoice_frame[column] = pd.to_datetime(invoice_frame[column])
    payment_frame = pd.DataFrame(
        [(f"Y{n}", *p) for n, p in enumerate(payments)],
        columns=["payment_id", "invoice_id", "paid_on", "amount_eur"],
    )
    payment_frame["paid_on"] = pd.to_datetime(payment_frame["paid_on"])
    return {
        "applications": pd.DataFrame(apps),
        "invoices": invoice_frame.reset_index(drop=True),
        "payments": payment_frame,
        "bureau_reports": pd.DataFrame(reports),
    }


def _alone(world: dict[str, pd.DataFrame], application_id: str) -> dict[str, pd.DataFrame]:
    """What a live decision has: one application, its customer's history, one report."""
    app = world["applications"][world["applications"].application_id == application_id]
    key = app.personal_code.iloc[0]
    invoices = world["invoices"][world["invoices"].personal_code == key]
    return {
        "applications": app,
        "invoices": invoices,
        "payments": world["payments"][world["payments"].invoice_id.isin(invoices.invoice_id)],
        "bureau_reports": world["bureau_reports"][
            world["bureau_reports"].report_id == app.bureau_report_id.iloc[0]
        ],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers=st.lists(customer, min_size=1, max_size=5), data=st.data())
def test_one_application_alone_equals_its_row_in_a_random_batch(customers, data):
    world = _world(customers)
    # Customers' invoices interleaved in any order, as rows come from a table or a query.
    order = data.draw(st.permutations(range(len(world["invoices"]))), label="invoice order")
    world["invoices"] = world["invoices"].iloc[order].reset_index(drop=True)
    batch = application_features(**world)
    assert list(batch.index) == list(world["applications"].application_id)
    for application_id in batch.index:
        alone = application_features(**_alone(world, application_id))
        pd.testing.assert_frame_equal(alone, batch.loc[[application_id]], check_exact=True)


@settings(max_examples=30, deadline=None)
@given(
    person=customer,
    terms=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=2_000_000).map(lambda c: c / 100),
            st.sampled_from([3, 6, 12, 24, 36, 48, 60]),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_counterfactual_candidates_score_as_separate_applications(person, terms):
    world = _alone(_world([person]), "A0-0")
    app = world["applications"]
    candidates = pd.concat(
        [app.assign(application_id=f"C{n}", amount_eur=a, term_months=m)
         for n, (a, m) in enumerate(terms)]
    )  # fmt: skip
    together = application_features(**{**world, "applications": candidates})
    for n in range(len(terms)):
        one = application_features(**{**world, "applications": candidates.iloc[[n]]})
        pd.testing.assert_frame_equal(one, together.iloc[[n]], check_exact=True)
