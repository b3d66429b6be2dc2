"""Outcomes: a reviewer decides a case, a senior reviewer signs or refuses the proposal, and a
resolved case stores its new decision, logs it and notifies the client."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from scoring.domain import lifecycle
from scoring.domain import review as rules
from scoring.domain.decision_record import RECORDED_COLUMNS, decision_record
from scoring.domain.identifiers import time_ordered_uuid
from scoring.domain.lifecycle import CaseEvent
from scoring.domain.permissions import may_second_sign
from scoring.domain.review import Actor, CaseStatus, NewTerms, ReviewOutcome
from scoring.service import decision_log
from scoring.service.policy_files import policy_for_version
from scoring.service.reviews.views import ReviewCaseView, case_view_of
from scoring.service.reviews.workflow import (
    Clock,
    announce,
    lock_case,
    record,
    require_holder,
    unclaim,
    utc_now,
)
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import Decision, ReviewCase
from scoring.storage.tables_reviews import ReviewCaseProgress


def decide_case(
    *,
    uow: UnitOfWork,
    case_id: str,
    reviewer: Actor,
    outcome: ReviewOutcome | str,
    justification: str,
    new_terms: NewTerms | None = None,
    customer_explanation_et: str | None = None,
    customer_explanation_en: str | None = None,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """Decide a case with an outcome its kind allows (a contest: uphold, overturn, change the
    terms; a case where nothing was decided: approve, decline, other terms); resolves the case
    or asks for a second signature.

    The justification is internal; the customer's letter quotes the explanation written for
    them in each language, required when the outcome is short of what they applied for.
    """
    rules.require_worker(reviewer, "decide cases")
    try:
        outcome = ReviewOutcome(outcome)
    except ValueError:
        allowed = ", ".join(o.value for o in ReviewOutcome)
        raise rules.InvalidInput(f"outcome must be one of {allowed}, not {outcome!r}") from None
    justification = rules.check_justification(justification)
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        require_holder(case, reviewer, "decide it")
        decision = case.decision
        application = decision.application
        policy = policy_for_version(decision.policy_version)
        terms = rules.check_new_terms(
            outcome, new_terms, product_category=application.product_category, policy=policy
        )
        lifecycle.resulting_outcome(case.kind, outcome, original_outcome=decision.outcome)
        explanation_et, explanation_en = rules.check_customer_explanation(
            outcome,
            original_outcome=decision.outcome,
            explanation_et=customer_explanation_et,
            explanation_en=customer_explanation_en,
            justification=justification,
        )
        progress = cases.progress_for_change(case.id)
        progress.customer_explanation_et = explanation_et
        progress.customer_explanation_en = explanation_en
        progress.decided_by = reviewer.user_id
        progress.decided_at = now
        progress.new_amount_eur = Decimal(f"{terms.amount_eur:.2f}") if terms else None
        progress.new_term_months = terms.term_months if terms else None
        progress.second_signature_refused_by = None
        case.outcome = outcome.value
        case.justification = justification
        details: dict[str, Any] = {"outcome": outcome.value, "justification": justification}
        if explanation_et or explanation_en:
            details["customer_explanation"] = {"et": explanation_et, "en": explanation_en}
        if terms is not None:
            details["new_terms"] = {
                "amount_eur": terms.amount_eur,
                "term_months": terms.term_months,
            }
        if rules.needs_second_signature(
            outcome, applied_amount_eur=float(application.amount), new_terms=terms, policy=policy
        ):
            previous = case.status
            case.status = lifecycle.case_transition(case.status, CaseEvent.PROPOSE).value
            announce(
                uow.webhook_outbox, case, progress, case_view_of(case, progress, now),
                event=CaseEvent.PROPOSE, previous_status=previous, now=now,
            )  # fmt: skip
            record(
                uow.audit_log,
                now=now,
                actor=reviewer.label,
                action="proposed_for_second_signature",
                case_id=case.id,
                details=details,
            )
        else:
            _resolve(
                uow, case, progress, now=now, actor=reviewer, event=CaseEvent.DECIDE,
                details=details,
            )  # fmt: skip
        return case_view_of(case, progress, now)


def second_signature(
    *,
    uow: UnitOfWork,
    case_id: str,
    signer: Actor,
    agree: bool,
    justification: str,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """A senior reviewer signs a proposal (resolving the case) or sends it back to the queue."""
    justification = rules.check_justification(justification)
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        lifecycle.refuse_if_closed(case.status, case_id=case_id, action="sign it")
        if case.status != CaseStatus.AWAITING_SECOND_SIGNATURE.value:
            raise rules.WrongState(
                f"case {case_id} does not await a second signature; it is "
                + case.status.replace("_", " ")
            )
        progress = cases.progress_for_change(case.id)
        if not may_second_sign(signer):
            raise rules.NotPermitted(
                f"a second signature must come from a senior reviewer; {signer.username} "
                f"is {signer.role.value}"
            )
        if not rules.may_second_sign(signer, decided_by=progress.decided_by):
            raise rules.NotPermitted(
                "the second signature must come from a different person than the one who "
                "proposed the outcome"
            )
        if agree:
            case.second_signature_by = signer.user_id
            _resolve(
                uow,
                case,
                progress,
                now=now,
                actor=signer,
                event=CaseEvent.SIGN,
                details={"second_signature": justification, "outcome": case.outcome},
            )
        else:
            progress.second_signature_refused_by = signer.user_id
            case.outcome = None
            case.justification = None
            progress.customer_explanation_et = None
            progress.customer_explanation_en = None
            progress.new_amount_eur = None
            progress.new_term_months = None
            previous = case.status
            unclaim(case, CaseEvent.REFUSE_SIGNATURE)
            announce(
                uow.webhook_outbox, case, progress, case_view_of(case, progress, now),
                event=CaseEvent.REFUSE_SIGNATURE, previous_status=previous, now=now,
            )  # fmt: skip
            record(
                uow.audit_log,
                now=now,
                actor=signer.label,
                action="second_signature_refused",
                case_id=case.id,
                details={"justification": justification},
            )
        return case_view_of(case, progress, now)


def _resolve(
    uow: UnitOfWork,
    case: ReviewCase,
    progress: ReviewCaseProgress,
    *,
    now: datetime,
    actor: Actor,
    event: CaseEvent,
    details: dict[str, Any],
) -> None:
    """Store the new decision superseding the original, notify the client, close the case."""
    resolved = lifecycle.case_transition(case.status, event)
    original = case.decision
    # Both callers set the outcome before they resolve.
    assert case.outcome is not None
    outcome = ReviewOutcome(case.outcome)
    new_outcome = lifecycle.resulting_outcome(case.kind, outcome, original_outcome=original.outcome)
    terms = (
        NewTerms(float(progress.new_amount_eur), int(progress.new_term_months or 0))
        if progress.new_amount_eur is not None
        else None
    )
    resulting = Decision(
        id=str(time_ordered_uuid()),
        application_id=original.application_id,
        outcome=new_outcome,
        automated=False,
        probability_of_default=original.probability_of_default,
        risk_grade=original.risk_grade,
        model_name=original.model_name,
        model_version=original.model_version,
        policy_version=original.policy_version,
        contract_versions=original.contract_versions,
        reasons=[_review_reason(outcome, terms, original_outcome=original.outcome)],
        policy_rules=[],
        contributions=original.contributions,
        counterfactual=None,
        bureau_report_id=original.bureau_report_id,
        input_hash=original.input_hash,
        decided_at=now,
        contestable_until=None,
        supersedes_decision_id=original.id,
        shadow=None,
    )
    uow.review_cases.add_resulting_decision(resulting)
    decision_log.append(
        session=uow.session,
        decision_id=resulting.id,
        at=now,
        payload={
            "kind": "review_decision",
            "decision_id": resulting.id,
            "supersedes_decision_id": original.id,
            "decided_at": now,
            "review_case_id": case.id,
            "review_kind": case.kind,
            "review_outcome": outcome.value,
            "reviewer_user_id": progress.decided_by,
            "second_signature_user_id": case.second_signature_by,
            "justification": case.justification,
            "new_terms": (
                {"amount_eur": terms.amount_eur, "term_months": terms.term_months}
                if terms
                else None
            ),
            "record": decision_record(
                {column: getattr(resulting, column) for column in RECORDED_COLUMNS},
                reasons=resulting.reasons,
                policy_rules=resulting.policy_rules,
            ),
        },
    )
    previous = case.status
    case.status = resolved.value
    case.resolved_at = now
    case.resulting_decision_id = resulting.id
    view = case_view_of(case, progress, now)
    announce(
        uow.webhook_outbox, case, progress, view,
        event=event, previous_status=previous, now=now, resulting_outcome=new_outcome,
        extra={"second_signature": case.second_signature_by is not None},
    )  # fmt: skip
    record(
        uow.audit_log,
        now=now,
        actor=actor.label,
        action="resolved",
        case_id=case.id,
        details={
            **details,
            "resulting_decision_id": resulting.id,
            "resulting_outcome": new_outcome,
        },
    )


_REVIEW_REASONS = {
    ReviewOutcome.UPHELD: (
        "H01_REVIEW_UPHELD",
        "Läbivaataja jättis automaatse otsuse jõusse.",
        "A reviewer upheld the automated decision.",
    ),
    ReviewOutcome.OVERTURNED: (
        "H02_REVIEW_OVERTURNED",
        "Läbivaataja muutis otsust ja kiitis taotluse heaks.",
        "A reviewer overturned the decision and approved the application.",
    ),
    ReviewOutcome.TERMS_CHANGED: (
        "H03_REVIEW_CHANGED_TERMS",
        "Läbivaataja kiitis heaks muudetud tingimustega järelmaksu.",
        "A reviewer approved an instalment plan on changed terms.",
    ),
    ReviewOutcome.APPROVED: (
        "H04_PERSON_APPROVED",
        "Taotluse vaatas läbi ja kiitis heaks meie töötaja.",
        "A member of staff reviewed the application and approved it.",
    ),
    ReviewOutcome.DECLINED: (
        "H05_PERSON_DECLINED",
        "Taotluse vaatas läbi ja lükkas tagasi meie töötaja.",
        "A member of staff reviewed the application and declined it.",
    ),
}


def _review_reason(
    outcome: ReviewOutcome, terms: NewTerms | None, *, original_outcome: str
) -> dict[str, Any]:
    code, text_et, text_en = _REVIEW_REASONS[outcome]
    if outcome is ReviewOutcome.TERMS_CHANGED and original_outcome in ("refer", "pending_review"):
        # Nothing was decided before, so nothing was "changed": a person offered other terms.
        text_et = "Taotluse vaatas läbi meie töötaja ja pakkus järelmaksu teistel tingimustel."
        text_en = (
            "A member of staff reviewed the application and offered an instalment plan "
            "on other terms."
        )
    reason: dict[str, Any] = {
        "code": code,
        "text_et": text_et,
        "text_en": text_en,
        "contribution": None,
        "kind": "review",
    }
    if terms is not None:
        reason["new_terms"] = {"amount_eur": terms.amount_eur, "term_months": terms.term_months}
    return reason
