"""One lifecycle for decisions and review cases: the states, the allowed moves, and who is told.

A decision is in one of four states (``DecisionState``):

- ``awaiting_person``: the automated assessment did not settle it (a refer, or an
  application sent to a person); exactly one review case is open for it;
- ``decided``: an approval or a decline stands, made automatically or by a person;
- ``under_review``: an automated approval or decline the customer contested; its contest
  case is open;
- ``superseded``: a person decided its case; the decision that replaced it says so.

A review case moves between ``open``, ``claimed``, ``awaiting_second_signature`` and
``resolved`` only by the moves in ``CASE_TRANSITIONS``; ``resolved`` is terminal and always
leaves a decision made by a person that supersedes the one the case was about. Every move
is announced to the sales system by the webhook event ``CASE_EVENT_TYPES`` names. The table in
``docs/lifecycle.md`` is this module written out. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from scoring.domain.review import (
    CaseClosed,
    CaseKind,
    CaseStatus,
    InvalidInput,
    ReviewOutcome,
    WrongState,
)


class DecisionState(StrEnum):
    AWAITING_PERSON = "awaiting_person"
    DECIDED = "decided"
    UNDER_REVIEW = "under_review"
    SUPERSEDED = "superseded"


TERMINAL_DECISION_STATES = frozenset({DecisionState.DECIDED, DecisionState.SUPERSEDED})

# The automated outcomes that settle nothing and leave the application to a person.
UNSETTLED_OUTCOMES = frozenset({"refer", "pending_review"})
SETTLED_OUTCOMES = frozenset({"approve", "decline"})

# Routing reasons of a ``pending_review`` outcome and the case kind each opens.
PENDING_CASE_KINDS: Mapping[str, CaseKind] = {
    "S02_HUMAN_REVIEW_REQUESTED": CaseKind.HUMAN_REVIEW_REQUESTED,
    "S03_PROFILING_OBJECTION": CaseKind.OBJECTION,
    "S04_AUTOMATION_PAUSED": CaseKind.HUMAN_REVIEW_REQUESTED,
}


class CaseEvent(StrEnum):
    """What can happen to a review case."""

    CLAIM = "claim"
    KEEP = "keep"
    RELEASE = "release"
    ESCALATE = "escalate"
    ADD_STATEMENT = "add_statement"
    EXTEND = "extend"
    DECIDE = "decide"
    PROPOSE = "propose"
    SIGN = "sign"
    REFUSE_SIGNATURE = "refuse_signature"


_O, _C, _A, _R = (
    CaseStatus.OPEN,
    CaseStatus.CLAIMED,
    CaseStatus.AWAITING_SECOND_SIGNATURE,
    CaseStatus.RESOLVED,
)
CASE_TRANSITIONS: Mapping[tuple[CaseStatus, CaseEvent], CaseStatus] = {
    (_O, CaseEvent.CLAIM): _C,
    (_O, CaseEvent.ADD_STATEMENT): _O,
    (_O, CaseEvent.EXTEND): _O,
    # A claim idle past the limit lapses; another reviewer may then claim the case.
    (_C, CaseEvent.CLAIM): _C,
    (_C, CaseEvent.KEEP): _C,
    (_C, CaseEvent.RELEASE): _O,
    (_C, CaseEvent.ESCALATE): _O,
    (_C, CaseEvent.ADD_STATEMENT): _C,
    (_C, CaseEvent.EXTEND): _C,
    (_C, CaseEvent.DECIDE): _R,
    (_C, CaseEvent.PROPOSE): _A,
    (_A, CaseEvent.ADD_STATEMENT): _A,
    (_A, CaseEvent.EXTEND): _A,
    (_A, CaseEvent.SIGN): _R,
    (_A, CaseEvent.REFUSE_SIGNATURE): _O,
}
TERMINAL_CASE_STATUSES = frozenset({_R})

_EVENT_WORDS = {
    CaseEvent.CLAIM: "claimed",
    CaseEvent.KEEP: "kept",
    CaseEvent.RELEASE: "released",
    CaseEvent.ESCALATE: "escalated",
    CaseEvent.ADD_STATEMENT: "given a statement",
    CaseEvent.EXTEND: "extended",
    CaseEvent.DECIDE: "decided",
    CaseEvent.PROPOSE: "decided",
    CaseEvent.SIGN: "signed",
    CaseEvent.REFUSE_SIGNATURE: "sent back",
}


def case_transition(status: CaseStatus | str, event: CaseEvent) -> CaseStatus:
    """The status a case moves to on ``event``; ``WrongState`` when the move is not allowed,
    ``CaseClosed`` when the case is resolved and nothing moves it any more."""
    current = CaseStatus(status)
    try:
        return CASE_TRANSITIONS[(current, event)]
    except KeyError:
        if current in TERMINAL_CASE_STATUSES:
            raise CaseClosed(
                f"a case that is {current.value} cannot be {_EVENT_WORDS[event]}; it is closed"
            ) from None
        raise WrongState(
            f"a case that is {current.value.replace('_', ' ')} cannot be {_EVENT_WORDS[event]}"
        ) from None


def refuse_if_closed(status: CaseStatus | str, *, case_id: str, action: str) -> None:
    """``CaseClosed`` when the case is resolved; ``action`` says what was tried ("decide it")."""
    if CaseStatus(status) in TERMINAL_CASE_STATUSES:
        raise CaseClosed(f"case {case_id} is resolved and closed; nobody can {action} any more")


# Who is told: the sales system hears of every move of a case by webhook, one event type
# per move. Keeping a claim only renews the holder's timer; the case does not move.
CASE_OPENED = "review.opened"
CASE_EVENT_TYPES: Mapping[CaseEvent, str | None] = {
    CaseEvent.CLAIM: "review.claimed",
    CaseEvent.KEEP: None,
    CaseEvent.RELEASE: "review.released",
    CaseEvent.ESCALATE: "review.escalated",
    CaseEvent.ADD_STATEMENT: "review.statement_added",
    CaseEvent.EXTEND: "review.extended",
    CaseEvent.DECIDE: "review.resolved",
    CaseEvent.PROPOSE: "review.second_signature_requested",
    CaseEvent.SIGN: "review.resolved",
    CaseEvent.REFUSE_SIGNATURE: "review.second_signature_refused",
}
WEBHOOK_EVENT_TYPES = frozenset(
    {CASE_OPENED, *(kind for kind in CASE_EVENT_TYPES.values() if kind is not None)}
)


def announced_as(event: CaseEvent) -> str | None:
    """The webhook event type that announces ``event``; None when the case does not move."""
    return CASE_EVENT_TYPES[event]


def state_while_case(kind: CaseKind | str, status: CaseStatus | str) -> DecisionState:
    """The state of the decision a case is about while the case is in ``status``."""
    if CaseStatus(status) in TERMINAL_CASE_STATUSES:
        return DecisionState.SUPERSEDED
    if CaseKind(kind) is CaseKind.CONTEST:
        return DecisionState.UNDER_REVIEW
    return DecisionState.AWAITING_PERSON


# Which outcomes a reviewer may choose depends on whether anything was decided before.
OUTCOMES_BY_KIND: Mapping[CaseKind, tuple[ReviewOutcome, ...]] = {
    CaseKind.CONTEST: (
        ReviewOutcome.UPHELD,
        ReviewOutcome.OVERTURNED,
        ReviewOutcome.TERMS_CHANGED,
    ),
    CaseKind.REFERRAL: (
        ReviewOutcome.APPROVED,
        ReviewOutcome.DECLINED,
        ReviewOutcome.TERMS_CHANGED,
    ),
    CaseKind.HUMAN_REVIEW_REQUESTED: (
        ReviewOutcome.APPROVED,
        ReviewOutcome.DECLINED,
        ReviewOutcome.TERMS_CHANGED,
    ),
    CaseKind.OBJECTION: (
        ReviewOutcome.APPROVED,
        ReviewOutcome.DECLINED,
        ReviewOutcome.TERMS_CHANGED,
    ),
}


def outcomes_for(kind: CaseKind | str) -> tuple[ReviewOutcome, ...]:
    """The outcomes a reviewer may choose for a case of this kind."""
    return OUTCOMES_BY_KIND[CaseKind(kind)]


def case_kind_for(outcome: str, reason_codes: Iterable[str]) -> CaseKind | None:
    """The kind of case an automated outcome opens; None when it settles the application."""
    if outcome == "refer":
        return CaseKind.REFERRAL
    if outcome == "pending_review":
        for code in reason_codes:
            if code in PENDING_CASE_KINDS:
                return PENDING_CASE_KINDS[code]
        return CaseKind.HUMAN_REVIEW_REQUESTED
    return None


def decision_state(
    *, outcome: str, superseded: bool, open_case_kind: CaseKind | str | None
) -> DecisionState:
    """The state of a decision from its outcome, whether it was replaced, and its open case."""
    if superseded:
        return DecisionState.SUPERSEDED
    if outcome in UNSETTLED_OUTCOMES:
        return DecisionState.AWAITING_PERSON
    if open_case_kind is not None and CaseKind(open_case_kind) is CaseKind.CONTEST:
        return DecisionState.UNDER_REVIEW
    return DecisionState.DECIDED


def contest_refusal(
    *,
    decision_id: str,
    outcome: str,
    automated: bool,
    superseded_by: str | None,
    supersedes: str | None,
    open_case_id: str | None,
    contestable_until: datetime | None,
    now: datetime,
) -> str | None:
    """Why a decision cannot be contested now, in one line; None when it can."""
    if superseded_by is not None:
        return (
            f"decision {decision_id} was replaced by decision {superseded_by}, which a "
            "person made; there is nothing automated left to contest"
        )
    if outcome in UNSETTLED_OUTCOMES:
        where = f" (review {open_case_id})" if open_case_id else ""
        return (
            f"decision {decision_id} did not decide the application: a person is deciding "
            f"it{where}; the customer may add a statement to that review instead"
        )
    if supersedes is not None or not automated:
        return (
            f"decision {decision_id} was made by a person; it is not an automated decision "
            "and cannot be contested here"
        )
    if contestable_until is not None and now > contestable_until:
        return (
            f"decision {decision_id} could be contested until "
            f"{contestable_until.date().isoformat()}"
        )
    return None


def resulting_outcome(
    kind: CaseKind | str, outcome: ReviewOutcome, *, original_outcome: str
) -> str:
    """The outcome (approve or decline) of the decision a resolved case produces."""
    kind = CaseKind(kind)
    if outcome not in outcomes_for(kind):
        allowed = ", ".join(o.value for o in outcomes_for(kind))
        raise InvalidInput(
            f"a {kind.value.replace('_', ' ')} case ends {allowed}, not {outcome.value}"
            + (
                ": no decision was made that could be upheld or overturned"
                if kind is not CaseKind.CONTEST
                else ""
            )
        )
    if outcome is ReviewOutcome.DECLINED:
        return "decline"
    if outcome is ReviewOutcome.UPHELD:
        if original_outcome not in SETTLED_OUTCOMES:
            raise WrongState(f"a {original_outcome} decision cannot be upheld; it decided nothing")
        return original_outcome
    if outcome is ReviewOutcome.OVERTURNED and original_outcome == "approve":
        raise InvalidInput("an approval cannot be overturned to an approval; uphold it instead")
    return "approve"
