"""Contested decisions stored through the ORM, shaped as the decision service stores them."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from scoring.domain.deadlines import due_date
from scoring.domain.reasons import FACTORS, policy_reason
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import (
    ApiClient,
    Application,
    BureauReport,
    Customer,
    Decision,
    ReviewCase,
)
from scoring.storage.tables_decisions import DecisionInput

STATEMENT = (
    "I paid the two late invoices in full in October; the delay was a bank transfer error. "
    "Please look at my payments again."
)
FEATURES = {
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
}
CONTRIBUTIONS = {
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
}
BASE_VALUE = -3.25  # base + contributions = logit(0.171), the stored PD


def _reason(code: str, contribution: float) -> dict[str, object]:
    text = next(f.reason for f in FACTORS if f.reason.code == code)
    return {
        "code": code,
        "text_et": text.text_et,
        "text_en": text.text_en,
        "contribution": contribution,
        "kind": "model",
    }


def _client(uow: UnitOfWork, now: datetime) -> ApiClient:
    client = uow.session.get(ApiClient, "sales")
    if client is None:
        client = ApiClient(id="sales", name="Sales system", created_at=now, active=True)
        uow.session.add(client)
        uow.session.flush()
    return client


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
    session = uow.session
    client = _client(uow, now)
    label = label or uuid.uuid4().hex[:8]
    customer = Customer(
        pseudonym=f"ps-{label}-{uuid.uuid4().hex[:12]}",
        customer_since=date(2026, 5, 1),
        segment="energy",
    )
    session.add(customer)
    session.flush()
    decided_at = now - timedelta(days=received_days_ago + 1)
    report = BureauReport(
        report_id=f"CI-{label}-{uuid.uuid4().hex[:6]}",
        customer_id=customer.id,
        requested_at=decided_at - timedelta(seconds=2),
        received_at=decided_at - timedelta(seconds=1),
        score=612,
        risk_class="satisfactory",
        pd_band_low=0.06,
        pd_band_high=0.149,
        open_default_count=0,
        closed_default_count=1,
    )
    session.add(report)
    session.flush()
    application = Application(
        client_id=client.id,
        external_id=f"APP-{label}-{uuid.uuid4().hex[:6]}",
        customer_id=customer.id,
        applied_at=decided_at,
        amount=Decimal(str(amount_eur)),
        term_months=36,
        product_category="heat_pump",
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
            outcome="decline",
            automated=True,
            probability_of_default=0.171,
            risk_grade="F",
            model_name="installment-pd",
            model_version="3",
            policy_version="2026.11.1",
            contract_versions={"decision_request": "1.0.0"},
            reasons=[
                _reason("R02_LATE_PAYMENT_HISTORY", 1.03),
                _reason("R06_BUREAU_RATING", 0.56),
                _reason("R05_SHORT_HISTORY", 0.28),
                _reason("R08_INSTALMENT_SIZE", 0.18),
            ],
            policy_rules=[],
            contributions=dict(CONTRIBUTIONS),
            counterfactual={
                "change": "amount",
                "suggested": {
                    "amount_eur": 4800.0,
                    "term_months": 36,
                    "probability_of_default": 0.058,
                },
                "alternatives": [
                    {"amount_eur": 4500.0, "term_months": 48, "probability_of_default": 0.057}
                ],
                "text_et": "Järelmaks oleks heaks kiidetud summale 4800 EUR 36 kuuks.",
                "text_en": "An instalment plan of 4800 EUR over 36 months would be approved.",
            },
            bureau_report_id=report.report_id,
            input_hash=uuid.uuid4().hex * 2,
            decided_at=decided_at,
            contestable_until=decided_at + timedelta(days=90),
        )
    )
    session.add(
        DecisionInput(
            decision_id=decision_id,
            facts={
                "amount_eur": amount_eur,
                "term_months": 36,
                "product_category": "heat_pump",
                "age_years": 41,
                "human_review_requested": False,
                "objected_to_profiling": False,
            },
            features=dict(FEATURES, amount_eur=amount_eur),
            base_value=BASE_VALUE,
        )
    )
    received_at = now - timedelta(days=received_days_ago)
    case_id = str(uuid.uuid4())
    session.add(
        ReviewCase(
            id=case_id,
            decision_id=decision_id,
            kind="contest",
            status="open",
            statement=statement,
            received_at=received_at,
            due_at=datetime.combine(due_date(received_at.date()), received_at.timetz()),
        )
    )
    session.flush()
    return case_id


def case_row(uow: UnitOfWork, case_id: str) -> ReviewCase:
    return uow.session.scalar(select(ReviewCase).where(ReviewCase.id == case_id))


__all__ = ["STATEMENT", "case_row", "contested_case", "policy_reason"]
