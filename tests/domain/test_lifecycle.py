"""The lifecycle of a decision and its review case: states, moves, and what each kind allows."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scoring.domain.lifecycle import (
    CASE_EVENT_TYPES,
    CASE_OPENED,
    CASE_TRANSITIONS,
    TERMINAL_CASE_STATUSES,
    WEBHOOK_EVENT_TYPES,
    CaseEvent,
    DecisionState,
    announced_as,
    case_kind_for,
    case_transition,
    contest_refusal,
    decision_state,
    outcomes_for,
    refuse_if_closed,
    resulting_outcome,
    state_while_case,
)
from scoring.domain.review import (
    CaseClosed,
    CaseKind,
    CaseStatus,
    InvalidInput,
    ReviewOutcome,
    WrongState,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_every_status_but_resolved_can_still_reach_resolved():
    for status in CaseStatus:
        reachable = {status}
        frontier = [status]
        while frontier:
            current = frontier.pop()
            for (start, _event), end in CASE_TRANSITIONS.items():
                if start is current and end not in reachable:
                    reachable.add(end)
                    frontier.append(end)
        if status in TERMINAL_CASE_STATUSES:
            assert reachable == {status}
        else:
            assert CaseStatus.RESOLVED in reachable


def test_a_resolved_case_refuses_every_move_and_says_it_is_closed():
    for event in CaseEvent:
        with pytest.raises(CaseClosed, match="resolved cannot be .*; it is closed") as closed:
            case_transition(CaseStatus.RESOLVED, event)
        assert closed.value.code == "case_closed"
    with pytest.raises(CaseClosed, match="case R-1 is resolved and closed; nobody can sign it"):
        refuse_if_closed("resolved", case_id="R-1", action="sign it")
    for status in set(CaseStatus) - TERMINAL_CASE_STATUSES:
        refuse_if_closed(status, case_id="R-1", action="sign it")
    # A move that is not allowed on a case still open is a plain conflict, not "closed".
    with pytest.raises(WrongState) as wrong:
        case_transition("open", CaseEvent.DECIDE)
    assert not isinstance(wrong.value, CaseClosed)


def test_every_move_that_changes_a_case_is_announced_and_documented():
    """Each move names its webhook event; only keeping a claim (nothing moves) names none;
    docs/lifecycle.md lists every event the product sends."""
    assert set(CASE_EVENT_TYPES) == set(CaseEvent)
    silent = {event for event in CaseEvent if announced_as(event) is None}
    assert silent == {CaseEvent.KEEP}
    assert all(CASE_TRANSITIONS[(s, e)] is s for (s, e) in CASE_TRANSITIONS if e in silent)
    docs = (Path(__file__).parents[2] / "docs" / "lifecycle.md").read_text()
    documented = set(re.findall(r"^\| `(review\.[a-z_]+)` \|", docs, flags=re.MULTILINE))
    assert documented == WEBHOOK_EVENT_TYPES == {CASE_OPENED, *CASE_EVENT_TYPES.values()} - {None}


def test_the_decision_state_a_case_status_leaves():
    for kind in CaseKind:
        waiting = DecisionState.UNDER_REVIEW if kind is CaseKind.CONTEST else (
            DecisionState.AWAITING_PERSON
        )  # fmt: skip
        for status in CaseStatus:
            expected = DecisionState.SUPERSEDED if status is CaseStatus.RESOLVED else waiting
            assert state_while_case(kind, status) is expected


def test_the_moves_of_a_case():
    assert case_transition("open", CaseEvent.CLAIM) is CaseStatus.CLAIMED
    assert case_transition("claimed", CaseEvent.DECIDE) is CaseStatus.RESOLVED
    assert case_transition("claimed", CaseEvent.PROPOSE) is CaseStatus.AWAITING_SECOND_SIGNATURE
    assert case_transition("awaiting_second_signature", CaseEvent.SIGN) is CaseStatus.RESOLVED
    assert case_transition("awaiting_second_signature", CaseEvent.REFUSE_SIGNATURE) is (
        CaseStatus.OPEN
    )
    assert case_transition("claimed", CaseEvent.RELEASE) is CaseStatus.OPEN
    with pytest.raises(WrongState, match="open cannot be decided"):
        case_transition("open", CaseEvent.DECIDE)
    with pytest.raises(WrongState, match="awaiting second signature cannot be claimed"):
        case_transition("awaiting_second_signature", CaseEvent.CLAIM)


def test_which_outcomes_open_which_case():
    assert case_kind_for("refer", ["P06_RISK_IN_REVIEW_BAND"]) is CaseKind.REFERRAL
    assert case_kind_for("refer", ["S01_BUREAU_UNAVAILABLE"]) is CaseKind.REFERRAL
    assert case_kind_for("pending_review", ["S02_HUMAN_REVIEW_REQUESTED"]) is (
        CaseKind.HUMAN_REVIEW_REQUESTED
    )
    assert case_kind_for("pending_review", ["S03_PROFILING_OBJECTION"]) is CaseKind.OBJECTION
    assert case_kind_for("pending_review", ["S04_AUTOMATION_PAUSED"]) is (
        CaseKind.HUMAN_REVIEW_REQUESTED
    )
    assert case_kind_for("approve", []) is None
    assert case_kind_for("decline", ["P01_BUREAU_OPEN_DEFAULT"]) is None


def test_the_state_of_a_decision():
    state = decision_state
    assert state(outcome="refer", superseded=False, open_case_kind="referral") is (
        DecisionState.AWAITING_PERSON
    )
    assert state(outcome="decline", superseded=False, open_case_kind=None) is DecisionState.DECIDED
    assert state(outcome="decline", superseded=False, open_case_kind="contest") is (
        DecisionState.UNDER_REVIEW
    )
    assert state(outcome="decline", superseded=True, open_case_kind=None) is (
        DecisionState.SUPERSEDED
    )
    assert state(outcome="pending_review", superseded=True, open_case_kind=None) is (
        DecisionState.SUPERSEDED
    )


def test_a_case_where_nothing_was_decided_offers_no_uphold():
    for kind in (CaseKind.REFERRAL, CaseKind.HUMAN_REVIEW_REQUESTED, CaseKind.OBJECTION):
        assert ReviewOutcome.UPHELD not in outcomes_for(kind)
        assert ReviewOutcome.OVERTURNED not in outcomes_for(kind)
        with pytest.raises(InvalidInput, match="no decision was made that could be upheld"):
            resulting_outcome(kind, ReviewOutcome.UPHELD, original_outcome="refer")
    assert outcomes_for(CaseKind.CONTEST) == (
        ReviewOutcome.UPHELD,
        ReviewOutcome.OVERTURNED,
        ReviewOutcome.TERMS_CHANGED,
    )
    with pytest.raises(InvalidInput, match="contest case ends upheld, overturned"):
        resulting_outcome(CaseKind.CONTEST, ReviewOutcome.APPROVED, original_outcome="decline")


def test_what_a_review_outcome_means_for_the_decision():
    assert resulting_outcome("contest", ReviewOutcome.UPHELD, original_outcome="decline") == (
        "decline"
    )
    assert resulting_outcome("contest", ReviewOutcome.UPHELD, original_outcome="approve") == (
        "approve"
    )
    assert resulting_outcome("contest", ReviewOutcome.OVERTURNED, original_outcome="decline") == (
        "approve"
    )
    assert resulting_outcome("referral", ReviewOutcome.APPROVED, original_outcome="refer") == (
        "approve"
    )
    assert resulting_outcome("referral", ReviewOutcome.DECLINED, original_outcome="refer") == (
        "decline"
    )
    assert (
        resulting_outcome(
            "objection", ReviewOutcome.TERMS_CHANGED, original_outcome="pending_review"
        )
        == "approve"
    )
    with pytest.raises(InvalidInput, match="cannot be overturned"):
        resulting_outcome("contest", ReviewOutcome.OVERTURNED, original_outcome="approve")


def test_why_a_decision_cannot_be_contested():
    def refusal(**overrides):
        values = dict(
            decision_id="d1", outcome="decline", automated=True, superseded_by=None,
            supersedes=None, open_case_id=None, contestable_until=NOW + timedelta(days=1),
            now=NOW,
        )  # fmt: skip
        values.update(overrides)
        return contest_refusal(**values)

    assert refusal() is None
    assert "replaced by decision d2" in refusal(superseded_by="d2")
    refer = refusal(outcome="refer", automated=False, open_case_id="r1", contestable_until=None)
    assert "did not decide the application" in refer and "review r1" in refer
    assert "made by a person" not in refer
    assert "made by a person" in refusal(automated=False, supersedes="d0")
    assert "could be contested until" in refusal(contestable_until=NOW - timedelta(days=1))
