"""The lifecycle of a decision and its review case: states, moves, and what each kind allows."""

from datetime import UTC, datetime, timedelta

import pytest

from scoring.domain.lifecycle import (
    CASE_TRANSITIONS,
    TERMINAL_CASE_STATUSES,
    CaseEvent,
    DecisionState,
    case_kind_for,
    case_transition,
    contest_refusal,
    decision_state,
    outcomes_for,
    resulting_outcome,
)
from scoring.domain.review import CaseKind, CaseStatus, InvalidInput, ReviewOutcome, WrongState

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
        with pytest.raises(WrongState, match="resolved cannot be .*; it is closed"):
            case_transition(CaseStatus.RESOLVED, event)


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
