"""Review cases through the service layer, on SQLite and PostgreSQL: queue, decisions, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scoring.domain.review import (
    CLAIM_IDLE_LIMIT,
    CaseClosed,
    CaseStatus,
    Escalation,
    InvalidInput,
    NewTerms,
    NotPermitted,
    ReviewOutcome,
    WrongState,
)
from scoring.service import audit, decision_log, reviews, webhooks
from scoring.storage.tables import Decision, DecisionLogEntry, ReviewCase

# What the customer's letter says of the outcome (the justification stays internal).
EXPLAIN_ET = "Teie maksete ajalugu ei toeta seda järelmaksu."
EXPLAIN_EN = "Your payment history does not support this plan."

# Tests whose behaviour does not depend on the database run on SQLite only, to stay fast.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

STATEMENT = "I paid both invoices on time; the bank delayed the transfer."
REASON = "The customer sent bank statements we must check with the bank."
WHY = "Bank statements show both invoices were paid on their due dates."


def contest(uow_factory, clock, decision_id, statement=STATEMENT):
    return reviews.contest_decision(
        uow=uow_factory(),
        decision_id=decision_id,
        client="sales-system",
        statement=statement,
        clock=clock,
    )


def snapshot(uow_factory):
    """Everything a refused action must leave unchanged."""
    with uow_factory() as uow:
        s = uow.session
        cases = [
            (c.id, c.status, c.claimed_by, c.outcome, c.justification, c.extended_due_at)
            for c in s.scalars(select(ReviewCase).order_by(ReviewCase.id))
        ]
        return (
            cases,
            s.scalar(select(func.count()).select_from(Decision)),
            audit.count(session=s),
        )


def test_a_contest_opens_a_case_due_in_one_month_and_is_audited(uow_factory, clock, make_decision):
    decision_id = make_decision()
    view = contest(uow_factory, clock, decision_id)
    assert view.status is CaseStatus.OPEN
    assert view.due_on.isoformat() == "2027-03-01"  # 28 February 2027 is a Sunday
    assert view.statement == STATEMENT
    with uow_factory() as uow:
        trail = reviews.audit_trail(session=uow.session, case_id=view.id)
        assert [e.action for e in trail] == ["case_opened"]
        assert trail[0].actor == "client:sales-system"


@sqlite_only
def test_refused_contests_change_nothing(uow_factory, clock, make_decision):
    decision_id, other = make_decision(), make_decision()
    late = make_decision(decided_at=clock() - timedelta(days=91))
    contest(uow_factory, clock, decision_id)
    before = snapshot(uow_factory)
    with pytest.raises(reviews.AlreadyContested):
        contest(uow_factory, clock, decision_id)
    with pytest.raises(reviews.InvalidContest, match="statement is empty"):
        contest(uow_factory, clock, other, statement="   ")
    with pytest.raises(reviews.DecisionNotFound):
        contest(uow_factory, clock, "no-such-decision")
    with pytest.raises(reviews.NotContestable, match="could be contested until"):
        contest(uow_factory, clock, late)
    assert snapshot(uow_factory) == before


def test_reviewers_claim_the_case_due_first_and_never_the_same(
    uow_factory, clock, make_decision, people
):
    first = contest(uow_factory, clock, make_decision())
    clock.advance(days=2)
    second = contest(uow_factory, clock, make_decision())
    anna = reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    ben = reviews.claim_next_case(uow=uow_factory(), reviewer=people.ben, clock=clock)
    assert (anna.id, ben.id) == (first.id, second.id)
    assert reviews.claim_next_case(uow=uow_factory(), reviewer=people.senior, clock=clock) is None
    with pytest.raises(WrongState, match="by another reviewer"):
        reviews.claim_case(uow=uow_factory(), case_id=first.id, reviewer=people.ben, clock=clock)


@sqlite_only
def test_the_queue_shows_held_cases_then_claimable_ones_with_escalation(
    uow_factory, clock, make_decision, people
):
    old = contest(uow_factory, clock, make_decision())
    clock.advance(days=10)
    new = contest(uow_factory, clock, make_decision())
    reviews.claim_case(uow=uow_factory(), case_id=new.id, reviewer=people.anna, clock=clock)
    clock.advance(days=17)  # old case due 1 March, now 27 February
    with uow_factory() as uow:
        queue = reviews.queue_for(session=uow.session, reviewer=people.anna, now=clock())
        assert [c.id for c in queue] == [new.id, old.id]
        assert queue[1].escalation is Escalation.NEAR_DUE
        assert reviews.queue_for(session=uow.session, reviewer=people.auditor, now=clock()) == []


@sqlite_only
def test_skip_hides_a_case_from_that_reviewer_for_a_while(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    reviews.skip_case(uow=uow_factory(), case_id=case.id, reviewer=people.anna, clock=clock)
    assert reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock) is None
    clock.advance(hours=5)
    assert (
        reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock).id == case.id
    )


@sqlite_only
def test_release_returns_a_case_and_only_its_holder_may_release_it(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    with pytest.raises(WrongState, match="ben does not hold"):
        reviews.release_case(uow=uow_factory(), case_id=case.id, reviewer=people.ben, clock=clock)
    released = reviews.release_case(
        uow=uow_factory(), case_id=case.id, reviewer=people.anna, clock=clock
    )
    assert released.status is CaseStatus.OPEN and released.claimed_by is None
    assert (
        reviews.claim_next_case(uow=uow_factory(), reviewer=people.ben, clock=clock).id == case.id
    )


def test_an_idle_claim_expires_and_the_case_returns_to_the_queue(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    clock.advance(seconds=CLAIM_IDLE_LIMIT.total_seconds() - 1)
    assert reviews.claim_next_case(uow=uow_factory(), reviewer=people.ben, clock=clock) is None
    reviews.keep_claim(uow=uow_factory(), case_id=case.id, reviewer=people.anna, clock=clock)
    clock.advance(seconds=CLAIM_IDLE_LIMIT.total_seconds() - 1)
    assert reviews.claim_next_case(uow=uow_factory(), reviewer=people.ben, clock=clock) is None
    clock.advance(seconds=2)
    taken = reviews.claim_next_case(uow=uow_factory(), reviewer=people.ben, clock=clock)
    assert taken.id == case.id and taken.claimed_by == people.ben.user_id
    with pytest.raises(WrongState, match="anna does not hold"):
        reviews.decide_case(
            uow=uow_factory(),
            case_id=case.id,
            reviewer=people.anna,
            outcome="upheld",
            justification=WHY,
            customer_explanation_et=EXPLAIN_ET,
            customer_explanation_en=EXPLAIN_EN,
            clock=clock,
        )
    with uow_factory() as uow:
        actions = [e.action for e in reviews.audit_trail(session=uow.session, case_id=case.id)]
    assert actions == ["case_opened", "claimed", "claim_expired", "claimed"]


@sqlite_only
def test_refused_decisions_change_nothing(uow_factory, clock, make_decision, people):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    before = snapshot(uow_factory)

    def decide(reviewer=people.anna, outcome="overturned", justification=WHY, **kw):
        return reviews.decide_case(
            uow=uow_factory(),
            case_id=case.id,
            reviewer=reviewer,
            outcome=outcome,
            justification=justification,
            customer_explanation_et=EXPLAIN_ET,
            customer_explanation_en=EXPLAIN_EN,
            clock=clock,
            **kw,
        )

    with pytest.raises(InvalidInput, match="justification is required"):
        decide(justification="")
    with pytest.raises(InvalidInput, match="justification is required"):
        decide(outcome="upheld", justification="agree")
    with pytest.raises(WrongState, match="ben does not hold"):
        decide(reviewer=people.ben)
    with pytest.raises(NotPermitted, match="auditor may not decide"):
        decide(reviewer=people.auditor)
    with pytest.raises(InvalidInput, match="outcome must be one of"):
        decide(outcome="approve")
    with pytest.raises(InvalidInput, match="only with terms_changed"):
        decide(new_terms=NewTerms(1000, 12))
    with pytest.raises(NotPermitted, match="only a senior reviewer may extend"):
        reviews.extend_case(
            uow=uow_factory(),
            case_id=case.id,
            reviewer=people.anna,
            further_months=1,
            reason=REASON,
            clock=clock,
        )
    with pytest.raises(NotPermitted, match="auditor may not claim"):
        reviews.claim_next_case(uow=uow_factory(), reviewer=people.auditor, clock=clock)
    assert snapshot(uow_factory) == before


def test_an_overturn_makes_a_new_human_decision_linked_in_the_log(
    uow_factory, clock, make_decision, people
):
    original = make_decision(amount=2400.0)
    case = contest(uow_factory, clock, original)
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    clock.advance(days=3)
    done = reviews.decide_case(
        uow=uow_factory(),
        case_id=case.id,
        reviewer=people.anna,
        outcome=ReviewOutcome.OVERTURNED,
        justification=WHY,
        customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN,
        clock=clock,
    )
    assert done.status is CaseStatus.RESOLVED and done.resolved_at == clock()
    with uow_factory() as uow:
        s = uow.session
        new = s.get(Decision, done.resulting_decision_id)
        assert (new.outcome, new.automated, new.supersedes_decision_id) == (
            "approve",
            False,
            original,
        )
        entry = s.scalar(select(DecisionLogEntry).where(DecisionLogEntry.decision_id == new.id))
        assert '"justification":"Bank statements' in entry.payload
        assert f'"supersedes_decision_id":"{original}"' in entry.payload
        assert audit.verify(session=s) == []
        # The decision service's own check sees the review decision as consistent.
        assert [b for b in decision_log.verify(session=s) if new.id in b.problem] == []
        actions = [e.action for e in reviews.audit_trail(session=s, case_id=case.id)]
        assert actions == ["case_opened", "claimed", "resolved"]


def test_a_large_overturn_needs_a_second_signature_from_another_senior(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision(amount=9000.0))
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.senior, clock=clock)
    proposed = reviews.decide_case(
        uow=uow_factory(),
        case_id=case.id,
        reviewer=people.senior,
        outcome="overturned",
        justification=WHY,
        customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN,
        clock=clock,
    )
    assert proposed.status is CaseStatus.AWAITING_SECOND_SIGNATURE
    assert proposed.resulting_decision_id is None

    def sign(signer, agree=True):
        return reviews.second_signature(
            uow=uow_factory(),
            case_id=case.id,
            signer=signer,
            agree=agree,
            justification="Checked the bank statements myself.",
            clock=clock,
        )

    before = snapshot(uow_factory)
    with pytest.raises(NotPermitted, match="different person"):
        sign(people.senior)
    with pytest.raises(NotPermitted, match="must come from a senior reviewer"):
        sign(people.anna)
    with pytest.raises(NotPermitted, match="must come from a senior reviewer"):
        sign(people.auditor)
    assert snapshot(uow_factory) == before
    with uow_factory() as uow:
        waiting = reviews.awaiting_signature_for(
            session=uow.session, reviewer=people.senior2, now=clock()
        )
        assert [c.id for c in waiting] == [case.id]
        assert (
            reviews.awaiting_signature_for(session=uow.session, reviewer=people.senior, now=clock())
            == []
        )
    signed = sign(people.senior2)
    assert signed.status is CaseStatus.RESOLVED
    assert signed.second_signature_by == people.senior2.user_id
    # Signing again finds the case closed, with its own error code.
    with pytest.raises(CaseClosed, match="resolved and closed") as closed:
        sign(people.senior2)
    assert closed.value.code == "case_closed"


@sqlite_only
def test_a_refused_second_signature_sends_the_case_back_to_the_queue(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision(amount=9000.0, product="solar_panels"))
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    reviews.decide_case(
        uow=uow_factory(),
        case_id=case.id,
        reviewer=people.anna,
        outcome="terms_changed",
        new_terms=NewTerms(8000.0, 48),
        justification=WHY,
        customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN,
        clock=clock,
    )
    back = reviews.second_signature(
        uow=uow_factory(),
        case_id=case.id,
        signer=people.senior,
        agree=False,
        justification="The new terms still exceed what the history supports.",
        clock=clock,
    )
    assert back.status is CaseStatus.OPEN and back.outcome is None and back.new_terms is None


@sqlite_only
def test_a_senior_extends_a_case_and_the_customer_notice_goes_out(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    webhooks.add_subscription(
        uow=uow_factory(), client="sales-system", url="http://127.0.0.1:9/hook", clock=clock
    )
    clock.advance(days=20)
    extended = reviews.extend_case(
        uow=uow_factory(),
        case_id=case.id,
        reviewer=people.senior,
        further_months=2,
        reason=REASON,
        clock=clock,
    )
    assert extended.due_on.isoformat() == "2027-04-30"
    assert extended.escalation is None
    with uow_factory() as uow:
        found = reviews.client_review(
            session=uow.session, review_id=case.id, client="sales-system", now=clock()
        )
        assert "30 April 2027" in found.extension_notice_en and REASON in found.extension_notice_et
        assert "30.04.2027" in found.extension_notice_et
        sent = webhooks.events(session=uow.session, review_case_id=case.id)
        assert [e.event_type for e in sent] == ["review.extended"]
    clock.advance(days=20)  # past the first month: no further extension
    with pytest.raises(WrongState, match="first month has passed"):
        reviews.extend_case(
            uow=uow_factory(),
            case_id=case.id,
            reviewer=people.senior,
            further_months=2,
            reason=REASON,
            clock=clock,
        )


@sqlite_only
def test_case_detail_puts_the_statement_first_and_shows_sources_and_limits(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    with uow_factory() as uow:
        detail = reviews.case_detail(session=uow.session, case_id=case.id, now=clock())
    assert detail.statement == STATEMENT
    assert detail.bureau_class == "satisfactory"
    assert "6–14,9 %" in detail.bureau_class_definition_et
    assert all(v.source.startswith("Creditinfo Eesti AS, report BR-") for v in detail.bureau)
    assert {v.name for v in detail.application} >= {"amount_eur", "term_months"}
    assert detail.contributions[0] == ("max_dpd_3m", 0.8)
    assert detail.probability_of_default == 0.19
    assert detail.reasons[0]["code"] == "R01_RECENT_LATE_PAYMENTS"
    assert detail.known_limits == []


@sqlite_only
def test_oversight_counts_overturns_per_reviewer_and_reason_and_timeliness(
    uow_factory, clock, make_decision, people
):
    for outcome in ("upheld", "overturned", "upheld"):
        case = contest(uow_factory, clock, make_decision())
        reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
        reviews.decide_case(
            uow=uow_factory(),
            case_id=case.id,
            reviewer=people.anna,
            outcome=outcome,
            justification=WHY,
            customer_explanation_et=EXPLAIN_ET,
            customer_explanation_en=EXPLAIN_EN,
            clock=clock,
        )
    contest(uow_factory, clock, make_decision())
    clock.advance(days=40)
    with uow_factory() as uow:
        stats = reviews.oversight_stats(session=uow.session, now=clock())
    (anna,) = stats.per_reviewer
    assert (anna.key, anna.cases, anna.upheld, anna.overturned) == ("anna", 3, 2, 1)
    assert anna.overturn_rate == pytest.approx(1 / 3)
    assert anna.agreement_rate == pytest.approx(2 / 3)
    assert [r.key for r in stats.per_reason_code] == ["R01_RECENT_LATE_PAYMENTS"]
    assert (stats.resolved_on_time, stats.resolved_late) == (3, 0)
    assert (stats.open_cases, stats.open_overdue) == (1, 1)


NOTE = "The bank statement and our billing records disagree; please check both."


def test_an_escalated_case_goes_to_another_senior_reviewer_with_the_note(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    clock.advance(minutes=5)
    escalated = reviews.escalate_case(
        uow=uow_factory(), case_id=case.id, reviewer=people.anna, note=NOTE, clock=clock
    )
    assert escalated.status is CaseStatus.OPEN and escalated.claimed_by is None
    assert (escalated.escalated_by, escalated.escalated_at) == (people.anna.user_id, clock())
    assert escalated.escalation_note == NOTE
    # Neither the reviewer who escalated nor another reviewer is offered the case.
    for reviewer in (people.anna, people.ben):
        assert reviews.claim_next_case(uow=uow_factory(), reviewer=reviewer, clock=clock) is None
        with pytest.raises(NotPermitted, match="escalated to the senior reviewers"):
            reviews.claim_case(uow=uow_factory(), case_id=case.id, reviewer=reviewer, clock=clock)
    with uow_factory() as uow:
        assert reviews.queue_for(session=uow.session, reviewer=people.ben, now=clock()) == []
        (queued,) = reviews.queue_for(session=uow.session, reviewer=people.senior, now=clock())
        assert queued.id == case.id and queued.escalated_by == people.anna.user_id
    taken = reviews.claim_next_case(uow=uow_factory(), reviewer=people.senior, clock=clock)
    assert taken.id == case.id
    with uow_factory() as uow:
        detail = reviews.case_detail(session=uow.session, case_id=case.id, now=clock())
        trail = reviews.audit_trail(session=uow.session, case_id=case.id)
        assert audit.verify(session=uow.session) == []
    assert (detail.case.escalation_note, detail.escalated_by_username) == (NOTE, "anna")
    assert [e.action for e in trail] == ["case_opened", "claimed", "escalated", "claimed"]
    assert trail[2].actor == "user:anna"
    assert trail[2].details == {"to": "senior_reviewer", "note": NOTE}


def test_a_senior_escalates_for_a_second_pair_of_eyes_and_cannot_take_it_back(
    uow_factory, clock, make_decision, people
):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_case(uow=uow_factory(), case_id=case.id, reviewer=people.senior, clock=clock)
    reviews.escalate_case(
        uow=uow_factory(), case_id=case.id, reviewer=people.senior, note=NOTE, clock=clock
    )
    assert reviews.claim_next_case(uow=uow_factory(), reviewer=people.senior, clock=clock) is None
    with pytest.raises(NotPermitted, match="escalated to the senior reviewers by you"):
        reviews.claim_case(uow=uow_factory(), case_id=case.id, reviewer=people.senior, clock=clock)
    taken = reviews.claim_case(
        uow=uow_factory(), case_id=case.id, reviewer=people.senior2, clock=clock
    )
    assert taken.claimed_by == people.senior2.user_id


@sqlite_only
def test_refused_escalations_change_nothing(uow_factory, clock, make_decision, people):
    case = contest(uow_factory, clock, make_decision())
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    before = snapshot(uow_factory)

    def escalate(reviewer=people.anna, note=NOTE, case_id=case.id):
        return reviews.escalate_case(
            uow=uow_factory(), case_id=case_id, reviewer=reviewer, note=note, clock=clock
        )

    with pytest.raises(InvalidInput, match="escalation needs a note"):
        escalate(note="  look  ")
    with pytest.raises(WrongState, match="ben does not hold"):
        escalate(reviewer=people.ben)
    with pytest.raises(NotPermitted, match="auditor may not escalate"):
        escalate(reviewer=people.auditor)
    with pytest.raises(reviews.ReviewNotFound):
        escalate(case_id="no-such-case")
    assert snapshot(uow_factory) == before
    with uow_factory() as uow:
        assert (
            reviews.case_view(session=uow.session, case_id=case.id, now=clock()).escalated_by
            is None
        )


@sqlite_only
def test_case_detail_lists_the_application_inputs_apart_from_the_payment_history(
    uow_factory, clock, people
):
    from review_cases import THIN_FILE, decision

    with uow_factory() as uow:
        decision_id = decision(
            uow.session, decided_at=clock() - timedelta(days=1), amount=3000.0, profile=THIN_FILE
        )
    case = contest(uow_factory, clock, decision_id)
    with uow_factory() as uow:
        detail = reviews.case_detail(session=uow.session, case_id=case.id, now=clock())
    assert [v.name for v in detail.application_features] == list(reviews.APPLICATION_FEATURES)
    assert detail.application_features[0].value == 3000.0
    assert {v.source for v in detail.application_features} == {"application"}
    history = {v.name for v in detail.payment_history}
    assert history.isdisjoint(reviews.APPLICATION_FEATURES)
    assert not any(name.startswith("bureau_") for name in history)
    assert {"max_dpd_12m", "late_payments_12m", "tenure_months"} <= history


def test_the_application_inputs_are_the_models_application_features():
    from scoring.features import APPLICATION_FEATURES

    assert tuple(APPLICATION_FEATURES) == reviews.APPLICATION_FEATURES
