"""What one decision stores: its rows, its log entry and its answer, built before the store.

Every row and the log entry (with ``scoring.domain.decision_record.decision_record``, the
one record payload) are built before the writer's turn, which then only writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Protocol

from scoring.domain import lifecycle
from scoring.domain.counterfactual import Counterfactual, PurchaseTerms
from scoring.domain.decision import ApplicationFacts
from scoring.domain.decision_record import decision_record
from scoring.domain.hash_chain import canonical_json
from scoring.domain.identifiers import time_ordered_uuid
from scoring.domain.policy import Policy
from scoring.domain.reasons import Reason
from scoring.domain.review import CaseKind, CaseStatus, case_due_at
from scoring.service.api_keys import AuthenticatedClient
from scoring.service.decisions.assess import Assessment
from scoring.service.decisions.views import DecisionView, decision_view
from scoring.storage.decision_store import DecisionRows

_CONTRACTS = ("decision_request", "payment_history", "bureau_report", "decision_record")


class RequestedPurchase(Protocol):
    """The purchase of a decision request."""

    @property
    def amount_eur(self) -> float: ...

    @property
    def term_months(self) -> int: ...

    @property
    def product_category(self) -> str: ...


class ApplicationRequest(Protocol):
    """A validated decision request: ``data_contracts.requests.DecisionRequest``.

    That model is built from its data contract when imported, so type checkers cannot
    see its fields; this protocol names the ones a decision reads.
    """

    @property
    def application_id(self) -> str: ...

    @property
    def personal_code(self) -> str: ...

    @property
    def purchase(self) -> RequestedPurchase: ...

    @property
    def channel(self) -> str: ...

    @property
    def human_review_requested(self) -> bool | None: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PreparedDecision:
    """What one decision stores, as plain values, and the answer once it is stored."""

    rows: DecisionRows
    fingerprint: str
    log_entry: str  # the canonical JSON payload of the decision's log entry
    # The review case a decision the assessment did not settle opens with it: id and kind.
    review_case: tuple[str, CaseKind] | None
    view: DecisionView


@lru_cache(maxsize=1)
def contract_versions() -> dict[str, str]:
    """The versions of the data contracts a decision is made under."""
    from data_contracts.loader import load_contract

    return {name: load_contract(name).version for name in _CONTRACTS}


def request_hash(request: ApplicationRequest, *, pseudonym: str) -> str:
    """SHA-256 of the request with the personal code replaced by its pseudonym."""
    body = request.model_dump(mode="json")
    body["personal_code"] = pseudonym
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def prepared_decision(
    *,
    decision_id: str,
    decided_at: datetime,
    applied_at: datetime,
    request: ApplicationRequest,
    client: AuthenticatedClient,
    pseudonym: str,
    facts: ApplicationFacts,
    scoring: Assessment,
    policy: Policy,
    fingerprint: str,
    key: str | None,
) -> PreparedDecision:
    """The rows, log entry and answer of a decided application, ready to store."""
    purchase = request.purchase
    report = scoring.report
    report_values = None
    if report is not None:
        report_values = {
            "report_id": report.report_id,
            "requested_at": report.requested_at,
            "received_at": report.requested_at,
            "score": report.score,
            "risk_class": report.risk_class,
            "pd_band_low": report.pd_band_low,
            "pd_band_high": report.pd_band_high,
            "open_default_count": report.open_default_count,
            "closed_default_count": report.closed_default_count,
        }
    default_entries = [
        {
            "creditor_sector": entry.creditor_sector,
            "amount": Decimal(str(entry.amount_eur)).quantize(Decimal("0.01")),
            "started_on": entry.started_on,
            "ended_on": entry.ended_on,
        }
        for entry in (report.default_entries if report is not None else ())
    ]
    application = {
        "client_id": client.client_id,
        "external_id": request.application_id,
        "applied_at": applied_at,
        "amount": Decimal(str(purchase.amount_eur)).quantize(Decimal("0.01")),
        "term_months": int(purchase.term_months),
        "product_category": purchase.product_category,
        "channel": request.channel,
        "human_review_requested": bool(request.human_review_requested),
        "defaulted_12m": None,
    }

    outcome = scoring.outcome
    assessment = scoring.assessment
    reasons = [_reason_dict(r) for r in outcome.reasons]
    rules = [{"code": hit.code, "effect": hit.effect} for hit in outcome.policy_rules]
    counterfactual = _counterfactual_dict(scoring.counterfactual)
    versions = dict(contract_versions())
    versions.update(scoring.model_contract)
    inputs = {
        "facts": facts.__dict__,
        "features": scoring.features,
        "evidence": scoring.evidence.__dict__ if scoring.evidence is not None else None,
        "bureau_report_id": report.report_id if report else None,
        "bureau_failure": scoring.bureau_failure,
    }
    input_hash = hashlib.sha256(canonical_json(inputs).encode()).hexdigest()
    case_kind = lifecycle.case_kind_for(outcome.outcome.value, [r.code for r in outcome.reasons])
    # Only a settled automated outcome may be contested; the others go to a person at once.
    contestable_until = (
        decided_at + timedelta(days=policy.contest_window_days) if case_kind is None else None
    )
    values = {
        "id": decision_id,
        "outcome": outcome.outcome.value,
        "automated": outcome.automated,
        "probability_of_default": assessment.probability_of_default if assessment else None,
        "risk_grade": outcome.risk_grade,
        "model_name": assessment.model_name if assessment else None,
        "model_version": assessment.model_version if assessment else None,
        "policy_version": policy.version,
        "contract_versions": versions,
        "reasons": reasons,
        "policy_rules": rules,
        "contributions": dict(assessment.contributions) if assessment else {},
        "counterfactual": counterfactual,
        "bureau_report_id": report.report_id if report else None,
        "input_hash": input_hash,
        "decided_at": decided_at,
        "contestable_until": contestable_until,
        "supersedes_decision_id": None,
        "shadow": scoring.shadow,
    }
    log_entry = canonical_json(
        {
            "kind": "decision",
            "decision_id": decision_id,
            "client_id": client.client_id,
            "application_id": request.application_id,
            "applicant_pseudonym": pseudonym,
            "decided_at": decided_at,
            "scored": scoring.scored,
            **inputs,
            # The stop switch is a runtime input the policy file does not hold; replay needs it.
            **({"automation_paused": True} if policy.all_applications_to_manual_review else {}),
            "base_value": assessment.base_value if assessment else None,
            "contributions": values["contributions"],
            "counterfactual": counterfactual,
            "shadow": scoring.shadow,
            "record": decision_record(values, reasons=reasons, policy_rules=rules),
        }
    )
    # The view reads attributes as of a stored row; plain namespaces cost a fraction of ORM
    # objects, whose every attribute set goes through the session's instrumentation.
    decision = SimpleNamespace(**values)
    letter_report = SimpleNamespace(**report_values) if report_values else None
    review_case = None
    case = None
    if case_kind is not None:
        review_case = (str(time_ordered_uuid()), case_kind)
        case = SimpleNamespace(
            id=review_case[0],
            decision_id=decision_id,
            kind=case_kind.value,
            status=CaseStatus.OPEN.value,
            due_at=case_due_at(decided_at),
            extended_due_at=None,
        )
    view = decision_view(
        decision, request.application_id, facts_row=facts.__dict__, report=letter_report,
        case=case,
    )  # fmt: skip
    return PreparedDecision(
        rows=DecisionRows(
            pseudonym=pseudonym,
            client_id=client.client_id,
            external_id=request.application_id,
            key=key,
            report=report_values,
            default_entries=default_entries,
            application=application,
            decision=values,
            decision_input={
                "decision_id": decision_id,
                "facts": dict(facts.__dict__),
                "features": scoring.features or None,
                "base_value": assessment.base_value if assessment else None,
            },
            idempotency=(
                {
                    "client_id": client.client_id,
                    "idempotency_key": key,
                    "request_hash": fingerprint,
                    "decision_id": decision_id,
                    "created_at": decided_at,
                }
                if key is not None
                else None
            ),
        ),
        fingerprint=fingerprint,
        log_entry=log_entry,
        review_case=review_case,
        view=replace(view, challenger_disagrees=(scoring.shadow or {}).get("disagrees")),
    )


def _reason_dict(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "text_et": reason.text_et,
        "text_en": reason.text_en,
        "contribution": reason.contribution,
        "kind": reason.kind,
    }


def _terms_dict(terms: PurchaseTerms) -> dict[str, Any]:
    return {
        "amount_eur": terms.amount_eur,
        "term_months": terms.term_months,
        "probability_of_default": terms.probability_of_default,
    }


def _counterfactual_dict(counterfactual: Counterfactual | None) -> dict[str, Any] | None:
    if counterfactual is None:
        return None
    return {
        "change": counterfactual.change,
        "suggested": _terms_dict(counterfactual.suggested),
        "alternatives": [_terms_dict(a) for a in counterfactual.alternatives],
        "text_et": counterfactual.text_et,
        "text_en": counterfactual.text_en,
        "actions": list(counterfactual.actions),
    }
