"""The access export (GDPR Art. 15): everything held about a person, with sources and retention.

Built from the person's records as ``SubjectRecords`` reads them; ``subject_requests``
finds the person, audits the request and returns this document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from data_contracts import retention as rules
from data_contracts.loader import RETENTION_RULES
from scoring.domain.bureau import BUREAU_NAME
from scoring.service.retention import application_kept_until
from scoring.storage import tables as t
from scoring.storage.subject_records import SubjectRecords

EXPORT_FORMAT = 1

SOURCES = {
    "customer": "the company's billing system (customer relationship)",
    "invoices": "the company's billing system (own invoices and payments)",
    "bureau_reports": f"{BUREAU_NAME}, the credit bureau, asked when an application was made",
    "applications": "the sales system (the application as sent at checkout)",
    "decisions": "this decision engine (automated assessment, explanation, review)",
}


def build_export(
    records: SubjectRecords, customer: t.Customer | None, *, now: datetime
) -> dict[str, Any]:
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
        export |= _customer_records(records, customer)
    return export


def _customer_records(store: SubjectRecords, customer: t.Customer) -> dict[str, Any]:
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
    invoices = store.invoices(customer.id)
    payments = store.payments_by_invoice(customer.id)
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
            "kept_until": invoice_kept_until(invoice, payments[invoice.id]),
        }
        for invoice in invoices
    ]
    applications = store.applications(customer.id)
    reports = store.bureau_reports(customer.id)
    entries = store.default_entries_by_report([r.id for r in reports])
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
        _application_record(store, application) for application in applications
    ]
    return records


def _application_record(store: SubjectRecords, application: t.Application) -> dict[str, Any]:
    decisions = store.decisions(application.id)
    ids = [d.id for d in decisions]
    inputs = store.decision_inputs(ids)
    cases = store.review_cases(ids)
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


def invoice_kept_until(invoice: t.Invoice, payments: Sequence[t.Payment]) -> str | None:
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


def render_export_html(export: dict[str, Any]) -> str:
    """The export as a readable HTML page (values escaped)."""
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    templates = Path(__file__).resolve().parents[2] / "data_contracts" / "templates"
    environment = Environment(
        loader=FileSystemLoader(templates), autoescape=select_autoescape(["html", "j2"])
    )
    return environment.get_template("subject_export.html.j2").render(export=export)
