"""Fixtures of the privacy tests: a migrated database and a seeder of aged records."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from scoring.domain.pseudonym import pseudonymise
from scoring.service import decision_log
from scoring.service.subject_proof import Requester
from scoring.storage import tables as t
from scoring.storage.db import session_factory
from scoring.storage.ingest import HISTORY_CLIENT_ID

# The decision service's fakes (bureau, model, clock) serve the objection test too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

PSEUDONYM_KEY = bytes(range(32))
# An operator who identified the person by ID card: what the use cases record as the requester.
REQUESTER = Requester(
    actor="operator:dpo", evidence={"channel": "operator", "identification_method": "id-card"}
)
CODE = "38001085718"  # valid: born 1980-01-08
OTHER_CODE = "49403136526"


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


@dataclass
class Seeder:
    """Writes customers, invoices, applications and decisions with chosen dates."""

    sessions: object

    def customer(
        self,
        code: str | None = None,
        *,
        since: date | None = date(2015, 1, 1),
        ended: date | None = None,
        objected: datetime | None = None,
    ) -> int:
        pseudonym = pseudonymise(code, key=PSEUDONYM_KEY) if code else uuid.uuid4().hex * 2
        with self.sessions() as session, session.begin():
            row = t.Customer(
                pseudonym=pseudonym,
                customer_since=since,
                relationship_ended_on=ended,
                segment="energy" if since else None,
                objected_to_profiling_at=objected,
            )
            session.add(row)
            session.flush()
            return row.id

    def invoice(
        self,
        customer_id: int,
        *,
        issued: date,
        paid_on: date | None = None,
        open_claim: bool = False,
    ) -> int:
        with self.sessions() as session, session.begin():
            paid_on = paid_on or issued
            invoice = t.Invoice(
                invoice_number=f"INV-{uuid.uuid4().hex[:12]}",
                customer_id=customer_id,
                issued_on=issued,
                due_on=issued,
                amount=Decimal("40.00"),
                paid=Decimal("0.00") if open_claim else Decimal("40.00"),
                paid_in_full_on=None if open_claim else paid_on,
                reminders_sent=0,
            )
            session.add(invoice)
            session.flush()
            if not open_claim:
                session.add(
                    t.Payment(
                        payment_number=f"PAY-{uuid.uuid4().hex[:12]}",
                        invoice_id=invoice.id,
                        paid_on=paid_on,
                        amount=Decimal("40.00"),
                    )
                )
            return invoice.id

    def report(self, customer_id: int, *, requested: date) -> int:
        with self.sessions() as session, session.begin():
            report = t.BureauReport(
                report_id=f"CR-{uuid.uuid4().hex[:12]}",
                customer_id=customer_id,
                requested_at=at(requested),
                score=700,
                risk_class="good",
                pd_band_low=0.02,
                pd_band_high=0.059,
            )
            session.add(report)
            session.flush()
            session.add(
                t.BureauDefaultEntry(
                    bureau_report_id=report.id,
                    creditor_sector="telecom",
                    amount=Decimal("120.00"),
                    started_on=requested,
                )
            )
            return report.id

    def application(
        self,
        customer_id: int,
        *,
        applied: date,
        term: int = 12,
        outcome: str | None = None,
        decided: date | None = None,
        case: str | None = None,
        case_resolved: date | None = None,
        with_report: bool = True,
    ) -> tuple[int, str | None]:
        """An application; with ``outcome`` a logged decision; with ``case`` a review case."""
        report_id = self.report(customer_id, requested=applied) if with_report else None
        with self.sessions() as session, session.begin():
            self._client(session, "sales" if outcome else HISTORY_CLIENT_ID)
            application = t.Application(
                client_id="sales" if outcome else HISTORY_CLIENT_ID,
                external_id=f"APP-{uuid.uuid4().hex[:12]}",
                customer_id=customer_id,
                applied_at=at(applied),
                amount=Decimal("900.00"),
                term_months=term,
                product_category="phone",
                channel="web",
                human_review_requested=False,
                bureau_report_id=report_id,
            )
            session.add(application)
            session.flush()
            if outcome is None:
                return application.id, None
            decided_at = at(decided or applied)
            decision = t.Decision(
                id=str(uuid.uuid4()),
                application_id=application.id,
                outcome=outcome,
                automated=True,
                probability_of_default=0.04,
                risk_grade="C",
                model_name="installment-pd",
                model_version="1",
                policy_version="2026.11.1",
                contract_versions={"decision_request": "1.0.0"},
                reasons=[
                    {
                        "code": "R01_LATE_PAYMENTS",
                        "text_en": "Late payments <b>",
                        "text_et": "Hilinenud maksed",
                    }
                ],
                policy_rules=[],
                contributions={"max_dpd_12m": 0.3},
                counterfactual=None,
                bureau_report_id=None,
                input_hash="0" * 64,
                decided_at=decided_at,
                contestable_until=None,
            )
            session.add(decision)
            session.flush()
            decision_log.append(
                session=session,
                decision_id=decision.id,
                payload={"record": {"outcome": outcome}, "reason_codes": ["R01_LATE_PAYMENTS"]},
                at=decided_at,
            )
            if case is not None:
                resolved = case == "resolved"
                session.add(
                    t.ReviewCase(
                        id=str(uuid.uuid4()),
                        decision_id=decision.id,
                        kind="contest",
                        status="resolved" if resolved else "open",
                        statement="I paid that invoice",
                        received_at=decided_at,
                        due_at=decided_at,
                        outcome="upheld" if resolved else None,
                        justification="checked the payment history" if resolved else None,
                        resolved_at=at(case_resolved) if resolved else None,
                    )
                )
            return application.id, decision.id

    @staticmethod
    def _client(session, client_id: str) -> None:  # type: ignore[no-untyped-def]
        if session.scalar(select(t.ApiClient.id).where(t.ApiClient.id == client_id)) is None:
            session.add(
                t.ApiClient(
                    id=client_id, name=client_id, created_at=datetime(2020, 1, 1, tzinfo=UTC)
                )
            )
            session.flush()


@pytest.fixture
def sessions(migrated_engine):
    return session_factory(migrated_engine)


@pytest.fixture
def seed(sessions) -> Seeder:
    return Seeder(sessions)


def count(sessions, model) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0
