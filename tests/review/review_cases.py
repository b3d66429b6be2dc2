"""Decisions, users and clients stored through the ORM, as the decision service stores them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from scoring.domain.review import Actor, Role
from scoring.storage.tables import ApiClient, Application, BureauReport, Customer, Decision, User
from scoring.storage.tables_decisions import DecisionInput

SALES = "sales-system"
POLICY_VERSION = "2026.11.1"


def client(session: Session, client_id: str = SALES) -> str:
    if session.get(ApiClient, client_id) is None:
        session.add(
            ApiClient(id=client_id, name=client_id, created_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
        session.flush()
    return client_id


def user(session: Session, username: str, role: Role) -> Actor:
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
) -> str:
    """One declined (by default) automated decision with its application, customer and report."""
    client(session, client_id)
    customer = Customer(
        pseudonym=uuid.uuid4().hex, customer_since=date(2021, 3, 1), segment="energy"
    )
    session.add(customer)
    session.flush()
    report = BureauReport(
        report_id=f"BR-{uuid.uuid4().hex[:10]}",
        customer_id=customer.id,
        requested_at=decided_at,
        received_at=decided_at,
        score=540,
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
        external_id=uuid.uuid4().hex,
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
            probability_of_default=0.19,
            risk_grade="F",
            model_name="installment-pd",
            model_version="3",
            policy_version=POLICY_VERSION,
            contract_versions={"decision_request": "1.0.0"},
            reasons=[
                {
                    "code": "R01_RECENT_LATE_PAYMENTS",
                    "text_et": "…",
                    "text_en": "Recent invoices were paid late.",
                    "contribution": 0.8,
                    "kind": "model",
                }
            ],
            policy_rules=[],
            contributions={"max_dpd_3m": 0.8, "bureau_score": 0.5, "tenure_months": -0.2},
            counterfactual=None,
            bureau_report_id=report.report_id,
            input_hash="0" * 64,
            decided_at=decided_at,
            contestable_until=decided_at + timedelta(days=90),
        )
    )
    session.add(
        DecisionInput(
            decision_id=decision_id,
            facts={"amount_eur": amount, "term_months": term_months},
            features={"max_dpd_3m": 34, "bureau_score": 540, "tenure_months": 60, "thin_file": 0},
            base_value=-2.9,
        )
    )
    session.flush()
    return decision_id
