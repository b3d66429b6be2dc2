"""What a caller learns about a decision, and its letters, from its stored (or storable) row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from scoring.config import process_contact_channels
from scoring.domain import lifecycle
from scoring.domain.bureau import BUREAU_NAME, RISK_CLASSES
from scoring.domain.counterfactual import Counterfactual, PurchaseTerms, why_no_counterfactual
from scoring.domain.decision import Outcome
from scoring.domain.policy import PolicyError
from scoring.domain.reasons import Reason
from scoring.domain.review import CaseStatus, local_day
from scoring.service.api_keys import AuthenticatedClient
from scoring.service.errors import DecisionNotFound
from scoring.service.policy_files import policy_for_version
from scoring.storage.db import UnitOfWork
from scoring.storage.decision_store import StoredDecision

CONTEST_PATH = "/v1/decisions/{decision_id}/contest"
REVIEW_PATH = "/v1/reviews/{review_id}"
STATEMENT_PATH = "/v1/reviews/{review_id}/statement"


@dataclass(frozen=True)
class DecisionView:
    """What the caller learns about a decision; the challenger's answer is never part of it."""

    decision_id: str
    application_id: str
    outcome: str
    probability_of_default: float | None
    risk_grade: str | None
    reasons: list[dict[str, Any]]
    policy_rules: list[dict[str, Any]]
    counterfactual: dict[str, Any] | None
    automated: bool
    model: dict[str, str | None] | None
    policy_version: str
    contract_versions: dict[str, str]
    decided_at: datetime
    contest: dict[str, Any] | None
    letter: dict[str, str] | None
    # Where the decision stands in its lifecycle (``scoring.domain.lifecycle.DecisionState``).
    state: str = lifecycle.DecisionState.DECIDED.value
    # The review case it belongs to (paths are relative; the API makes them absolute).
    review: dict[str, Any] | None = None
    # The decision a person made in its place, and the one this one replaced.
    superseded_by: dict[str, Any] | None = None
    supersedes: str | None = None
    # What the sales system shows the customer with every answer (R22), in et and en.
    notice: dict[str, str] | None = None
    # True when this answer is the stored decision returned again for a retried request.
    idempotent_replay: bool = False
    # Whether the challenger would have decided otherwise (for metrics; never shown).
    challenger_disagrees: bool | None = None


class DecisionColumns(Protocol):
    """A decision's columns as attributes: a stored ``Decision`` row or the values to store."""

    id: str
    outcome: str
    probability_of_default: float | None
    risk_grade: str | None
    model_name: str | None
    model_version: str | None
    policy_version: str
    contract_versions: dict[str, str]
    reasons: list[dict[str, Any]]
    policy_rules: list[dict[str, Any]]
    counterfactual: dict[str, Any] | None
    automated: bool
    decided_at: datetime
    contestable_until: datetime | None
    supersedes_decision_id: str | None


class CaseColumns(Protocol):
    """A review case's columns the view reads: a stored row or the values of a new case."""

    id: str
    decision_id: str
    kind: str
    status: str
    due_at: datetime
    extended_due_at: datetime | None


class ReportColumns(Protocol):
    """A bureau report's columns the letters name: a stored row or the values to store."""

    report_id: str
    requested_at: datetime
    risk_class: str


def get_decision(*, uow: UnitOfWork, client: AuthenticatedClient, decision_id: str) -> DecisionView:
    """A stored decision of this client; ``DecisionNotFound`` for others' or unknown ids."""
    with uow:
        stored = uow.decisions.stored(decision_id=decision_id, client_id=client.client_id)
        return stored_view(stored, decision_id=decision_id)


def stored_view(stored: StoredDecision | None, *, decision_id: str) -> DecisionView:
    """The view of a stored decision; ``DecisionNotFound`` when there is none (for this client)."""
    if stored is None:
        raise DecisionNotFound(f"no decision {decision_id} for this client")
    return decision_view(
        stored.decision,
        stored.external_id,
        facts_row=stored.facts,
        report=stored.report,
        case=stored.case,
        superseded_by=stored.superseded_by,
    )


def decision_view(
    decision: DecisionColumns,
    external_id: str,
    *,
    facts_row: dict[str, Any],
    report: ReportColumns | None,
    case: CaseColumns | None = None,
    superseded_by: DecisionColumns | None = None,
) -> DecisionView:
    """The view of a decision: its state, its case, what replaced it, its notice and letters."""
    contest_url = CONTEST_PATH.format(decision_id=decision.id)
    model = (
        {"name": decision.model_name, "version": decision.model_version}
        if decision.model_version
        else None
    )
    open_case = case if case is not None and case.status != CaseStatus.RESOLVED.value else None
    state = lifecycle.decision_state(
        outcome=decision.outcome,
        superseded=superseded_by is not None,
        open_case_kind=open_case.kind if open_case is not None else None,
    )
    review = _review_link(case) if case is not None else None
    # Only a standing automated approval or decline may be contested.
    contestable = (
        decision.contestable_until is not None
        and decision.automated
        and decision.outcome in lifecycle.SETTLED_OUTCOMES
        and superseded_by is None
    )
    letter = None
    if decision.supersedes_decision_id is None and (
        decision.outcome == Outcome.DECLINE.value
        or (decision.outcome in lifecycle.UNSETTLED_OUTCOMES and review is not None)
    ):
        letter = _letters(decision, facts_row, report, review)
    return DecisionView(
        decision_id=decision.id,
        application_id=external_id,
        outcome=decision.outcome,
        probability_of_default=decision.probability_of_default,
        risk_grade=decision.risk_grade,
        reasons=[
            {k: r[k] for k in ("code", "text_et", "text_en", "contribution")}
            for r in decision.reasons
        ],
        policy_rules=list(decision.policy_rules),
        counterfactual=decision.counterfactual,
        automated=decision.automated,
        model=model,
        policy_version=decision.policy_version,
        contract_versions=dict(decision.contract_versions),
        decided_at=decision.decided_at,
        contest=(
            {"url": contest_url, "until": decision.contestable_until} if contestable else None
        ),
        letter=letter,
        state=state.value,
        review=review,
        superseded_by=(
            {
                "decision_id": superseded_by.id,
                "outcome": superseded_by.outcome,
                "decided_at": superseded_by.decided_at,
            }
            if superseded_by is not None
            else None
        ),
        supersedes=decision.supersedes_decision_id,
        notice=_notice(decision, report, contest_url if contestable else None, review),
    )


def _review_link(case: CaseColumns) -> dict[str, Any]:
    due = case.extended_due_at or case.due_at
    resolved = case.status == CaseStatus.RESOLVED.value
    return {
        "review_id": case.id,
        "kind": case.kind,
        "status": case.status,
        "due_on": local_day(due),
        "url": REVIEW_PATH.format(review_id=case.id),
        "statement_url": None if resolved else STATEMENT_PATH.format(review_id=case.id),
    }


def _notice(
    decision: DecisionColumns,
    report: ReportColumns | None,
    contest_url: str | None,
    review: dict[str, Any] | None,
) -> dict[str, str]:
    from scoring.letters import AutomationNotice, render_notice

    if decision.supersedes_decision_id is not None:
        mode = "person"
    elif decision.outcome == Outcome.PENDING_REVIEW.value:
        mode = "person_routed"
    elif decision.outcome == Outcome.REFER.value:
        mode = "referred"
    else:
        mode = "automated"
    notice = AutomationNotice(
        mode=mode,
        bureau_name=BUREAU_NAME,
        bureau_answered=report is not None,
        contest_until=decision.contestable_until.date()
        if contest_url and decision.contestable_until
        else None,
        decision_id=decision.id,
        review_id=review["review_id"] if review and review["statement_url"] else None,
        contact=process_contact_channels(),
    )
    return {lang: render_notice(notice, language=lang) for lang in ("et", "en")}


def _letters(
    decision: DecisionColumns,
    facts: dict[str, Any],
    report: ReportColumns | None,
    review: dict[str, Any] | None,
) -> dict[str, str]:
    from scoring.letters import BureauConsulted, DecisionLetter, render_decision_letter

    bureau = None
    if report is not None:
        definition = RISK_CLASSES[report.risk_class]
        bureau = BureauConsulted(
            name=BUREAU_NAME,
            report_id=report.report_id,
            requested_on=report.requested_at.date(),
            risk_class=report.risk_class,
            class_label_et=definition.label_et,
            class_label_en=definition.label_en,
            class_text_et=definition.meaning_et,
            class_text_en=definition.meaning_en,
        )
    until = decision.contestable_until or decision.decided_at
    why_none = None if decision.counterfactual else _why_no_counterfactual(decision, facts)
    letter = DecisionLetter(
        decision_id=decision.id,
        decided_on=decision.decided_at.date(),
        outcome=decision.outcome,
        automated=decision.automated,
        amount_eur=float(facts["amount_eur"]),
        term_months=int(facts["term_months"]),
        product_category=facts["product_category"],
        reasons=[
            Reason(r["code"], r["text_et"], r["text_en"], r.get("contribution"), r["kind"])
            for r in decision.reasons
        ],
        bureau=bureau,
        counterfactual=_counterfactual_from(decision.counterfactual),
        contest_until=until.date(),
        contact=process_contact_channels(),
        review_id=review["review_id"] if review else None,
        review_due_on=review["due_on"] if review else None,
        statement_open=bool(review and review["statement_url"]),
        route=next(
            (
                r["code"]
                for r in decision.reasons
                if r["code"] in ("S01_BUREAU_UNAVAILABLE", *lifecycle.PENDING_CASE_KINDS)
            ),
            None,
        ),
        no_counterfactual_et=why_none[0] if why_none else None,
        no_counterfactual_en=why_none[1] if why_none else None,
    )
    return {lang: render_decision_letter(letter, language=lang) for lang in ("et", "en")}


def _why_no_counterfactual(
    decision: DecisionColumns, facts: dict[str, Any]
) -> tuple[str, str] | None:
    """Why no change would have helped, by the decision's own policy version."""
    try:
        policy = policy_for_version(decision.policy_version)
    except PolicyError:
        return None  # a policy not kept as a file (tests): nothing to say rather than a guess
    return why_no_counterfactual(
        outcome=decision.outcome,
        rule_codes=[rule["code"] for rule in decision.policy_rules],
        product_category=facts["product_category"],
        probability_of_default=decision.probability_of_default,
        policy=policy,
        amount_eur=float(facts["amount_eur"]),
    )


def _counterfactual_from(data: dict[str, Any] | None) -> Counterfactual | None:
    if not data:
        return None
    return Counterfactual(
        change=data["change"],
        suggested=PurchaseTerms(**data["suggested"]),
        alternatives=tuple(PurchaseTerms(**a) for a in data["alternatives"]),
        text_et=data["text_et"],
        text_en=data["text_en"],
        actions=tuple(data.get("actions") or ()),
    )
