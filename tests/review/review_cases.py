"""Decisions, review cases, users and clients stored through the ORM, as the services store them.

One builder for every test of the review workflow: the service tests (``tests/review``),
the reviewer UI's server-side and browser tests (``tests/review_ui``, ``tests/browser``,
which import it through ``review_ui_cases``) and the fault tests. A decision follows one
of two customer profiles: ``ESTABLISHED`` (years of history, no known limits) or
``THIN_FILE`` (a new customer the model knows little about, with a full explanation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.domain.reasons import ReasonFacts, factor_of_code
from scoring.domain.review import Actor, Role, case_due_at
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import (
    ApiClient,
    Application,
    BureauReport,
    Customer,
    Decision,
    ReviewCase,
    User,
)
from scoring.storage.tables_decisions import DecisionInput
from scoring.storage.tables_reviews import ReviewCaseProgress

SALES = "sales-system"
# The client of the UI's contested cases; the browser journey polls its review as "sales".
UI_SALES = "sales"
POLICY_VERSION = "2026.11.1"
STATEMENT = (
    "I paid the two late invoices in full in October; the delay was a bank transfer error. "
    "Please look at my payments again."
)


# What the stored reasons' texts say about the customers below.
_SEEN = ReasonFacts(
    has_history=True, tenure_months=7, invoices_24m=7, invoices_due_12m=6, late_12m=2,
    late_24m=2, max_dpd_6m=12, max_dpd_12m=34, max_dpd_24m=34, current_dpd=0,
    overdue_balance_eur=0.0, reminders_12m=2, collections_24m=0, settled_due_12m=6,
    pay_margin_mean_12m=-3.5, partial_paid_due_12m=0, avg_invoice_eur_12m=58.0,
    bureau_class="satisfactory", bureau_score=612, bureau_open_defaults=0,
    bureau_closed_defaults=0, amount_eur=2400.0, term_months=12, product_category="heat_pump",
)  # fmt: skip


def _reason(code: str, contribution: float) -> dict[str, Any]:
    rule = next(r for r in factor_of_code(code).rules if r.code == code)
    text_et, text_en = rule.texts(_SEEN)
    return {
        "code": code,
        "text_et": text_et,
        "text_en": text_en,
        "contribution": contribution,
        "kind": "model",
    }


@dataclass(frozen=True)
class Profile:
    """A customer as the decision service saw them, and what the model made of it."""

    customer_since: date
    bureau_score: int
    # How long before the decision the bureau report was requested.
    report_age: timedelta
    report_prefix: str
    probability_of_default: float
    reasons: list[dict[str, Any]]
    contributions: dict[str, float]
    features: dict[str, Any]
    base_value: float
    counterfactual: dict[str, Any] | None = None
    facts: dict[str, Any] = field(default_factory=dict)


ESTABLISHED = Profile(
    customer_since=date(2021, 3, 1),
    bureau_score=540,
    report_age=timedelta(0),
    report_prefix="BR",
    probability_of_default=0.19,
    reasons=[_reason("R01_RECENT_LATE_PAYMENTS", 0.8)],
    contributions={"max_dpd_3m": 0.8, "bureau_score": 0.5, "tenure_months": -0.2},
    features={"max_dpd_3m": 34, "bureau_score": 540, "tenure_months": 60, "thin_file": 0},
    base_value=-2.9,
)

THIN_FILE = Profile(
    customer_since=date(2026, 5, 1),
    bureau_score=612,
    report_age=timedelta(seconds=2),
    report_prefix="CI",
    probability_of_default=0.171,
    reasons=[
        _reason("R02_LATE_PAYMENT_HISTORY", 1.03),
        _reason("R06_BUREAU_RATING", 0.56),
        _reason("R05_SHORT_HISTORY", 0.28),
        _reason("R08_INSTALMENT_SIZE", 0.18),
    ],
    contributions={
        "max_dpd_12m": 0.62,
        "late_payments_12m": 0.41,
        "bureau_class_rank": 0.35,
        "thin_file": 0.28,
        "bureau_score": 0.21,
        "instalment_to_avg_invoice": 0.18,
        "reminders_12m": 0.12,
        "term_months": 0.05,
        "current_dpd": -0.08,
        "collections_24m": -0.11,
        "current_balance_eur": -0.14,
        "bureau_open_defaults": -0.22,
    },
    features={
        "tenure_months": 7,
        "thin_file": 1,
        "invoice_count_24m": 7,
        "max_dpd_3m": 12,
        "max_dpd_6m": 12,
        "max_dpd_12m": 34,
        "max_dpd_24m": 34,
        "mean_dpd_12m": 6.5,
        "late_payments_12m": 2,
        "late_payments_24m": 2,
        "months_since_last_late_payment": 1,
        "reminders_12m": 2,
        "collections_24m": 0,
        "current_balance_eur": 0.0,
        "current_dpd": 0,
        "max_balance_12m_eur": 120.0,
        "avg_invoice_eur_12m": 58.0,
        "partial_payment_share_12m": 0.1,
        "bureau_score": 612,
        "bureau_class_rank": 2,
        "bureau_open_defaults": 0,
        "bureau_closed_defaults": 1,
        "amount_eur": 7200.0,
        "term_months": 36,
        "product_category_code": 0,
        "monthly_instalment_eur": 200.0,
        "instalment_to_avg_invoice": 3.45,
    },
    base_value=-3.25,  # base + contributions = logit(0.171), the stored PD
    counterfactual={
        "change": "amount",
        "suggested": {"amount_eur": 4800.0, "term_months": 36, "probability_of_default": 0.058},
        "alternatives": [
            {"amount_eur": 4500.0, "term_months": 48, "probability_of_default": 0.057}
        ],
        "text_et": "Järelmaks oleks heaks kiidetud summale 4800 EUR 36 kuuks.",
        "text_en": "An instalment plan of 4800 EUR over 36 months would be approved.",
    },
    facts={"age_years": 41, "human_review_requested": False, "objected_to_profiling": False},
)


def client(session: Session, client_id: str = SALES) -> str:
    if session.get(ApiClient, client_id) is None:
        session.add(
            ApiClient(
                id=client_id,
                name=client_id,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                active=True,
            )
        )
        session.flush()
    return client_id


def user(session: Session, username: str, role: Role) -> Actor:
    """An account without a usable password: the service tests act for it directly."""
    row = User(username=username, password_hash="x", role=role.value, failed_logins=0)
    session.add(row)
    session.flush()
    return Actor(user_id=row.id, username=username, role=role)


def decision(
    session: Session,
    *,
    decided_at: datetime,
    outcome: str = "decline",
    amount: float = 2400.0,
    term_months: int = 12,
    product: str = "heat_pump",
    automated: bool = True,
    client_id: str = SALES,
    profile: Profile = ESTABLISHED,
    label: str | None = None,
) -> str:
    """One automated (declined by default) decision with its application, customer and report."""
    client(session, client_id)
    label = label or uuid.uuid4().hex[:8]
    customer = Customer(
        pseudonym=f"ps-{label}-{uuid.uuid4().hex[:12]}",
        customer_since=profile.customer_since,
        segment="energy",
    )
    session.add(customer)
    session.flush()
    requested_at = decided_at - profile.report_age
    report = BureauReport(
        report_id=f"{profile.report_prefix}-{label}-{uuid.uuid4().hex[:6]}",
        customer_id=customer.id,
        requested_at=requested_at,
        received_at=min(requested_at + timedelta(seconds=1), decided_at),
        score=profile.bureau_score,
        risk_class="satisfactory",
        pd_band_low=0.06,
        pd_band_high=0.149,
        open_default_count=0,
        closed_default_count=1,
    )
    session.add(report)
    session.flush()
    application = Application(
        client_id=client_id,
        external_id=f"APP-{label}-{uuid.uuid4().hex[:6]}",
        customer_id=customer.id,
        applied_at=decided_at,
        amount=Decimal(f"{amount:.2f}"),
        term_months=term_months,
        product_category=product,
        channel="web",
        bureau_report_id=report.id,
    )
    session.add(application)
    session.flush()
    decision_id = str(uuid.uuid4())
    session.add(
        Decision(
            id=decision_id,
            application_id=application.id,
            outcome=outcome,
            automated=automated,
            probability_of_default=profile.probability_of_default,
            risk_grade="F",
            model_name="installment-pd",
            model_version="3",
            policy_version=POLICY_VERSION,
            contract_versions={"decision_request": "1.0.0"},
            reasons=[dict(r) for r in profile.reasons],
            policy_rules=[],
            contributions=dict(profile.contributions),
            counterfactual=profile.counterfactual,
            bureau_report_id=report.report_id,
            input_hash=uuid.uuid4().hex * 2,
            decided_at=decided_at,
            contestable_until=decided_at + timedelta(days=90),
        )
    )
    features = dict(profile.features)
    if "amount_eur" in features:
        features.update(amount_eur=amount, term_months=term_months)
    session.add(
        DecisionInput(
            decision_id=decision_id,
            facts={
                "amount_eur": amount,
                "term_months": term_months,
                "product_category": product,
                **profile.facts,
            },
            features=features,
            base_value=profile.base_value,
        )
    )
    session.flush()
    return decision_id


def open_case(
    session: Session,
    *,
    decision_id: str,
    received_at: datetime,
    statement: str | None = STATEMENT,
    kind: str = "contest",
) -> str:
    """An open case (a contest by default) of a decision, due one month after ``received_at``."""
    case_id = str(uuid.uuid4())
    session.add(
        ReviewCase(
            id=case_id,
            decision_id=decision_id,
            kind=kind,
            status="open",
            statement=statement,
            received_at=received_at,
            due_at=case_due_at(received_at),
        )
    )
    session.flush()
    session.add(ReviewCaseProgress(case_id=case_id, attachments=[]))
    session.flush()
    return case_id


def contested_case(
    uow: UnitOfWork,
    *,
    now: datetime,
    amount_eur: float = 7200.0,
    received_days_ago: int = 3,
    statement: str = STATEMENT,
    label: str | None = None,
) -> str:
    """A declined decision of a thin-file customer, contested with a statement; the case id."""
    decision_id = decision(
        uow.session,
        decided_at=now - timedelta(days=received_days_ago + 1),
        amount=amount_eur,
        term_months=36,
        client_id=UI_SALES,
        profile=THIN_FILE,
        label=label,
    )
    return open_case(
        uow.session,
        decision_id=decision_id,
        received_at=now - timedelta(days=received_days_ago),
        statement=statement,
    )


def referral_case(
    uow: UnitOfWork, *, now: datetime, amount_eur: float = 2400.0, received_days_ago: int = 3
) -> str:
    """A refer of a thin-file customer (the model's grey zone) and its open referral case."""
    decision_id = decision(
        uow.session,
        decided_at=now - timedelta(days=received_days_ago),
        outcome="refer",
        automated=False,
        amount=amount_eur,
        client_id=UI_SALES,
        profile=THIN_FILE,
    )
    return open_case(
        uow.session,
        decision_id=decision_id,
        received_at=now - timedelta(days=received_days_ago),
        statement=None,
        kind="referral",
    )


def case_row(uow: UnitOfWork, case_id: str) -> ReviewCase:
    return uow.session.scalar(select(ReviewCase).where(ReviewCase.id == case_id))
