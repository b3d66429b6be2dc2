"""Data-subject requests: access (GDPR Art. 15), erasure (Art. 17), objection (Art. 21).

The person is named by their identification code, which is checked and turned into the
keyed pseudonym at once; the code itself is never stored, logged or put in an answer.
Every request leaves an audit log entry under the pseudonym, the evidence that it was
answered (Art. 5(2), 12); that entry outlives an erasure on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data_contracts import retention as rules
from data_contracts.loader import RETENTION_RULES
from scoring.domain.bureau import BUREAU_NAME
from scoring.domain.errors import InvalidInputError
from scoring.domain.personal_code import InvalidPersonalCode
from scoring.domain.pseudonym import pseudonymise
from scoring.service import audit
from scoring.service.errors import ServiceError
from scoring.service.retention import (
    ApplicationItem,
    application_kept_until,
    contract_followed,
    remove_applications,
    remove_bureau_reports,
    remove_customers,
)
from scoring.storage import tables as t
from scoring.storage.tables_decisions import DecisionInput

EXPORT_FORMAT = 1
ACTOR_PREFIX = "data-subject-request"

SOURCES = {
    "customer": "the company's billing system (customer relationship)",
    "invoices": "the company's billing system (own invoices and payments)",
    "bureau_reports": f"{BUREAU_NAME}, the credit bureau, asked when an application was made",
    "applications": "the sales system (the application as sent at checkout)",
    "decisions": "this decision engine (automated assessment, explanation, review)",
}


class InvalidSubjectRequest(ServiceError, InvalidInputError):
    """The request names no valid person; the message never repeats the code."""

    code = "invalid_personal_code"


@dataclass(frozen=True)
class KeptRecords:
    """Records an erasure could not remove, with the obligation that holds them."""

    records: str
    count: int
    kept_until: str | None
    reason: str


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed and what it kept, and why."""

    received_at: datetime
    held_data: bool
    erased: dict[str, int]
    kept: list[KeptRecords] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "held_data": self.held_data,
            "erased": self.erased,
            "kept": [asdict(k) for k in self.kept],
        }


@dataclass(frozen=True)
class ObjectionReceipt:
    """The recorded objection to profiling and what it changes."""

    objected_at: datetime
    already_recorded: bool
    effect: str = (
        "every later application of this person goes to a human reviewer; no decision "
        "about them is made by automated processing alone"
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "objected_at": self.objected_at.isoformat(),
            "already_recorded": self.already_recorded,
            "effect": self.effect,
        }


def pseudonym_of(code: str, *, pseudonym_key: bytes) -> str:
    """The pseudonym of a valid code; ``InvalidSubjectRequest`` naming the rule otherwise."""
    try:
        return pseudonymise(code, key=pseudonym_key)
    except InvalidPersonalCode as error:
        raise InvalidSubjectRequest(str(error), field="personal_code") from None


def _audit(session: Session, *, at: datetime, action: str, pseudonym: str, details: dict) -> None:  # type: ignore[type-arg]
    audit.append(
        session=session,
        at=at,
        actor=ACTOR_PREFIX,
        action=action,
        entity_type="data_subject",
        entity_id=pseudonym,
        details=details,
    )


# -- access (Art. 15) ------------------------------------------------------------------------


def export_subject(
    *, session: Session, code: str, pseudonym_key: bytes, now: datetime
) -> dict[str, Any]:
    """Everything held about the person, with sources and retention dates; audited."""
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    with session.begin():
        customer = session.scalars(
            select(t.Customer).where(t.Customer.pseudonym == pseudonym)
        ).first()
        export = _export(session, customer, now=now)
        _audit(
            session,
            at=now,
            action="subject.access",
            pseudonym=pseudonym,
            details={"held_data": customer is not None},
        )
    return export


def _export(session: Session, customer: t.Customer | None, *, now: datetime) -> dict[str, Any]:
    export: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": now.astimezone(UTC).isoformat(),
        "controller_note": (
            "Your identification code is not stored; records are linked to you by a keyed "
            "pseudonym. Names and contact data are not held by the decision engine."
        ),
        "held_data": customer is not None,
        "sources": SOURCES,
        "retention_rules": RETENTION_RULES,
        "customer": None,
        "invoices": [],
        "bureau_reports": [],
        "applications": [],
    }
    if customer is not None:
        export.update(_customer_records(session, customer))
    return export


def _customer_records(session: Session, customer: t.Customer) -> dict[str, Any]:
    kept_until = None
    if customer.relationship_ended_on is not None:
        kept_until = rules.relationship_kept_until(customer.relationship_ended_on).isoformat()
    records: dict[str, Any] = {
        "customer": {
            "customer_since": _iso(customer.customer_since),
            "relationship_ended_on": _iso(customer.relationship_ended_on),
            "segment": customer.segment,
            "objected_to_profiling_at": _iso(customer.objected_to_profiling_at),
            "source": SOURCES["customer"],
            "retention": RETENTION_RULES["relationship_end_plus_P5Y"],
            "kept_until": kept_until,
        }
    }
    invoices = session.scalars(
        select(t.Invoice).where(t.Invoice.customer_id == customer.id).order_by(t.Invoice.issued_on)
    ).all()
    payments: dict[int, list[t.Payment]] = defaultdict(list)
    for payment in session.scalars(
        select(t.Payment)
        .join(t.Invoice, t.Payment.invoice_id == t.Invoice.id)
        .where(t.Invoice.customer_id == customer.id)
        .order_by(t.Payment.paid_on)
    ):
        payments[payment.invoice_id].append(payment)
    records["invoices"] = [
        {
            "invoice_number": invoice.invoice_number,
            "issued_on": _iso(invoice.issued_on),
            "due_on": _iso(invoice.due_on),
            "amount_eur": str(invoice.amount),
            "paid_eur": str(invoice.paid),
            "paid_in_full_on": _iso(invoice.paid_in_full_on),
            "reminders_sent": invoice.reminders_sent,
            "sent_to_collection_on": _iso(invoice.sent_to_collection_on),
            "payments": [
                {"paid_on": _iso(p.paid_on), "amount_eur": str(p.amount)}
                for p in payments[invoice.id]
            ],
            "source": SOURCES["invoices"],
            "kept_until": _invoice_kept_until(invoice, payments[invoice.id]),
        }
        for invoice in invoices
    ]
    applications = session.scalars(
        select(t.Application)
        .where(t.Application.customer_id == customer.id)
        .order_by(t.Application.applied_at)
    ).all()
    reports = session.scalars(
        select(t.BureauReport)
        .where(t.BureauReport.customer_id == customer.id)
        .order_by(t.BureauReport.requested_at)
    ).all()
    entries: dict[int, list[t.BureauDefaultEntry]] = defaultdict(list)
    for entry in session.scalars(
        select(t.BureauDefaultEntry).where(
            t.BureauDefaultEntry.bureau_report_id.in_([r.id for r in reports])
        )
    ):
        entries[entry.bureau_report_id].append(entry)
    records["bureau_reports"] = [
        {
            "report_id": report.report_id,
            "requested_at": _iso(report.requested_at),
            "score": report.score,
            "risk_class": report.risk_class,
            "pd_band": [report.pd_band_low, report.pd_band_high],
            "open_default_count": report.open_default_count,
            "closed_default_count": report.closed_default_count,
            "default_entries": [
                {
                    "creditor_sector": e.creditor_sector,
                    "amount_eur": str(e.amount),
                    "started_on": _iso(e.started_on),
                    "ended_on": _iso(e.ended_on),
                }
                for e in entries[report.id]
            ],
            "source": SOURCES["bureau_reports"],
            "retention": RETENTION_RULES["declined_P6M_else_contract_end_plus_P3Y"],
        }
        for report in reports
    ]
    records["applications"] = [
        _application_record(session, application) for application in applications
    ]
    return records


def _application_record(session: Session, application: t.Application) -> dict[str, Any]:
    decisions = session.scalars(
        select(t.Decision)
        .where(t.Decision.application_id == application.id)
        .order_by(t.Decision.decided_at)
    ).all()
    ids = [d.id for d in decisions]
    inputs = {
        row.decision_id: row
        for row in session.scalars(select(DecisionInput).where(DecisionInput.decision_id.in_(ids)))
    }
    cases = session.scalars(
        select(t.ReviewCase)
        .where(t.ReviewCase.decision_id.in_(ids))
        .order_by(t.ReviewCase.received_at)
    ).all()
    kept_until = application_kept_until(application, decisions, cases)
    return {
        "external_id": application.external_id,
        "applied_at": _iso(application.applied_at),
        "amount_eur": str(application.amount),
        "term_months": application.term_months,
        "product_category": application.product_category,
        "channel": application.channel,
        "human_review_requested": application.human_review_requested,
        "bureau_report_id": application.bureau_report.report_id
        if application.bureau_report is not None
        else None,
        "source": SOURCES["applications"],
        "kept_until": _iso(kept_until) if kept_until else "while a review case is open",
        "decisions": [
            {
                "decision_id": d.id,
                "decided_at": _iso(d.decided_at),
                "outcome": d.outcome,
                "automated": d.automated,
                "probability_of_default": d.probability_of_default,
                "risk_grade": d.risk_grade,
                "model": f"{d.model_name} {d.model_version}" if d.model_name else None,
                "policy_version": d.policy_version,
                "reasons": d.reasons,
                "policy_rules": d.policy_rules,
                "contributions": d.contributions,
                "counterfactual": d.counterfactual,
                "inputs": inputs[d.id].facts if d.id in inputs else None,
                "features": inputs[d.id].features if d.id in inputs else None,
                "bureau_report_id": d.bureau_report_id,
                "contestable_until": _iso(d.contestable_until),
                "supersedes_decision_id": d.supersedes_decision_id,
                "source": SOURCES["decisions"],
            }
            for d in decisions
        ],
        "review_cases": [
            {
                "case_id": c.id,
                "decision_id": c.decision_id,
                "kind": c.kind,
                "status": c.status,
                "statement": c.statement,
                "received_at": _iso(c.received_at),
                "due_at": _iso(c.extended_due_at or c.due_at),
                "extension_reason": c.extension_reason,
                "outcome": c.outcome,
                "justification": c.justification,
                "resolved_at": _iso(c.resolved_at),
                "retention": RETENTION_RULES["case_closed_plus_P3Y"],
            }
            for c in cases
        ],
    }


def _invoice_kept_until(invoice: t.Invoice, payments: list[t.Payment]) -> str | None:
    if invoice.paid_in_full_on is None and invoice.paid < invoice.amount:
        return None  # an open claim: kept while it is open
    return rules.accounting_kept_until(
        [
            invoice.issued_on,
            invoice.paid_in_full_on,
            invoice.sent_to_collection_on,
            *(p.paid_on for p in payments),
        ]
    ).isoformat()


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# -- erasure (Art. 17) -----------------------------------------------------------------------


def erase_subject(
    *, session: Session, code: str, pseudonym_key: bytes, now: datetime
) -> ErasureReport:
    """Remove what no retention obligation holds; say what was kept and why; audited."""
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    as_of = now.date()
    erased = {"applications": 0, "decisions": 0, "review_cases": 0, "bureau_reports": 0,
              "invoices": 0, "payments": 0, "customers": 0}  # fmt: skip
    kept: list[KeptRecords] = []
    with session.begin():
        customer = session.scalars(
            select(t.Customer).where(t.Customer.pseudonym == pseudonym).with_for_update()
        ).first()
        if customer is not None:
            _erase_applications(session, customer, as_of=as_of, now=now, erased=erased, kept=kept)
            _erase_invoices(session, customer, as_of=as_of, erased=erased, kept=kept)
            erased["customers"] = remove_customers(session, [customer.id])
            if not erased["customers"]:
                kept.append(
                    KeptRecords(
                        "customer link (pseudonym, relationship dates, segment)",
                        1,
                        None,
                        "links the records above that must be kept; removed with the last of them",
                    )
                )
        report = ErasureReport(
            received_at=now, held_data=customer is not None, erased=erased, kept=kept
        )
        _audit(session, at=now, action="subject.erasure", pseudonym=pseudonym,
               details={"erased": erased, "kept": [asdict(k) for k in kept]})  # fmt: skip
    return report


def _erase_applications(
    session: Session,
    customer: t.Customer,
    *,
    as_of: date,
    now: datetime,
    erased: dict[str, int],
    kept: list[KeptRecords],
) -> None:
    applications = session.scalars(
        select(t.Application).where(t.Application.customer_id == customer.id)
    ).all()
    removable: list[ApplicationItem] = []
    held: dict[tuple[str, str | None], int] = defaultdict(int)
    reports: list[int] = []
    for application in applications:
        decisions = session.scalars(
            select(t.Decision).where(t.Decision.application_id == application.id)
        ).all()
        cases = session.scalars(
            select(t.ReviewCase).where(t.ReviewCase.decision_id.in_([d.id for d in decisions]))
        ).all()
        kept_until = application_kept_until(application, decisions, cases)
        followed = contract_followed(application.client_id, decisions)
        if kept_until is None:
            held[("an open review case of the decision must be answered first", None)] += 1
        elif as_of <= kept_until:
            without_cases = application_kept_until(application, decisions, [])
            if without_cases is not None and kept_until > without_cases:
                reason = "correspondence of a review case: 3 years after it closed (legal claims)"
            elif followed:
                reason = "contract data: the contract's life plus 3 years (legal claims)"
            else:
                reason = (
                    "decision log: automated decisions are logged for at least 6 months "
                    "(AI Act Art. 12, 19)"
                )
            held[(reason, kept_until.isoformat())] += 1
        else:
            removable.append(
                ApplicationItem(
                    id=application.id,
                    customer_id=customer.id,
                    decision_ids=[d.id for d in decisions],
                    case_ids=[c.id for c in cases],
                    bureau_report_id=application.bureau_report_id,
                    rule="erasure",
                )
            )
            if application.bureau_report_id is not None:
                reports.append(application.bureau_report_id)
    if removable:
        remove_applications(session, removable, at=now, removed_by="erasure")
        erased["applications"] = len(removable)
        erased["decisions"] = sum(len(i.decision_ids) for i in removable)
        erased["review_cases"] = sum(len(i.case_ids) for i in removable)
    unlinked = session.scalars(
        select(t.BureauReport.id).where(t.BureauReport.customer_id == customer.id)
    ).all()
    erased["bureau_reports"] = remove_bureau_reports(session, list(unlinked))
    for (reason, until), count in sorted(held.items(), key=lambda item: item[0][1] or ""):
        kept.append(
            KeptRecords(
                "applications with their decisions, explanations, review cases and bureau reports",
                count,
                until,
                reason,
            )
        )


def _erase_invoices(
    session: Session,
    customer: t.Customer,
    *,
    as_of: date,
    erased: dict[str, int],
    kept: list[KeptRecords],
) -> None:
    invoices = session.scalars(select(t.Invoice).where(t.Invoice.customer_id == customer.id)).all()
    payments: dict[int, list[t.Payment]] = defaultdict(list)
    for payment in session.scalars(
        select(t.Payment).where(t.Payment.invoice_id.in_([i.id for i in invoices]))
    ):
        payments[payment.invoice_id].append(payment)
    open_claims = 0
    held_until: list[str] = []
    for invoice in invoices:
        until = _invoice_kept_until(invoice, payments[invoice.id])
        if until is None:
            open_claims += 1
        elif as_of <= date.fromisoformat(until):
            held_until.append(until)
        else:
            for payment in payments[invoice.id]:
                session.delete(payment)
            session.delete(invoice)
            erased["invoices"] += 1
            erased["payments"] += len(payments[invoice.id])
    session.flush()
    if held_until:
        kept.append(
            KeptRecords(
                "invoices and payments",
                len(held_until),
                max(held_until),
                "accounting records: 7 years from the end of the financial year "
                "(Estonian Accounting Act)",
            )
        )
    if open_claims:
        kept.append(
            KeptRecords(
                "unpaid invoices",
                open_claims,
                None,
                "an open claim is kept until it is settled, then as an accounting record",
            )
        )


# -- objection (Art. 21) ---------------------------------------------------------------------


def object_to_profiling(
    *, session: Session, code: str, pseudonym_key: bytes, now: datetime
) -> ObjectionReceipt:
    """Record the objection so that every later application goes to human review; audited."""
    pseudonym = pseudonym_of(code, pseudonym_key=pseudonym_key)
    with session.begin():
        customer = session.scalars(
            select(t.Customer).where(t.Customer.pseudonym == pseudonym).with_for_update()
        ).first()
        if customer is None:
            # A person not known yet: a bare row keeps the objection for a first application.
            customer = t.Customer(pseudonym=pseudonym)
            session.add(customer)
        already = customer.objected_to_profiling_at is not None
        if not already:
            customer.objected_to_profiling_at = now
        receipt = ObjectionReceipt(
            objected_at=customer.objected_to_profiling_at or now, already_recorded=already
        )
        session.flush()
        _audit(session, at=now, action="subject.objection", pseudonym=pseudonym,
               details={"already_recorded": already})  # fmt: skip
    return receipt


def render_export_html(export: dict[str, Any]) -> str:
    """The export as a readable HTML page (values escaped)."""
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    templates = Path(__file__).resolve().parents[2] / "data_contracts" / "templates"
    environment = Environment(
        loader=FileSystemLoader(templates), autoescape=select_autoescape(["html", "j2"])
    )
    return environment.get_template("subject_export.html.j2").render(export=export)
