"""The review use cases' branching, on a fake unit of work: who may do what to a case, when.

No database here: these are the service's own decisions. Locking, ``SKIP LOCKED`` and
racing processes are tested on SQLite and PostgreSQL in the other review tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from review_fakes import FakeUnitOfWork, decision, open_case, person

from scoring.domain import review as rules
from scoring.domain.review import CaseStatus, Role
from scoring.service import reviews

# What the customer's letter says of the outcome (the justification stays internal).
EXPLAIN_ET = "Teie maksete ajalugu ei toeta seda järelmaksu."
EXPLAIN_EN = "Your payment history does not support this plan."

NOW = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
JUSTIFICATION = "The October invoices were paid in full; the delay was the bank's."
REASON = "We are waiting for the bank's statement of the October transfers."


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def anna(uow):
    return person(uow, "anna", Role.REVIEWER)


@pytest.fixture
def ben(uow):
    return person(uow, "ben", Role.REVIEWER)


@pytest.fixture
def sirje(uow):
    return person(uow, "sirje", Role.SENIOR_REVIEWER)


@pytest.fixture
def siim(uow):
    return person(uow, "siim", Role.SENIOR_REVIEWER)


@pytest.fixture
def case_id(uow, clock) -> str:
    return open_case(uow, received_at=clock() - timedelta(days=3))


# Opening.


def test_a_decision_is_contested_once(uow, clock):
    decision_id = decision(uow, decided_at=clock() - timedelta(days=1))
    case = reviews.contest_decision(
        uow=uow, decision_id=decision_id, client="sales-system", statement="Not fair", clock=clock
    )
    assert case.status is CaseStatus.OPEN
    assert uow.audit_log.actions_for(case.id) == ["case_opened"]

    with pytest.raises(reviews.AlreadyContested, match=f"already contested \\(review {case.id}"):
        reviews.contest_decision(
            uow=uow, decision_id=decision_id, client="sales-system", statement="Again", clock=clock
        )
    assert uow.rollbacks == 1


def test_only_the_clients_own_automated_decisions_in_time_are_contestable(uow, clock):
    theirs = decision(uow, decided_at=clock(), client_id="other-client")
    with pytest.raises(reviews.DecisionNotFound):
        reviews.contest_decision(
            uow=uow, decision_id=theirs, client="sales-system", statement="x", clock=clock
        )
    by_a_person = decision(uow, decided_at=clock(), automated=False)
    with pytest.raises(reviews.NotContestable, match="made by a person"):
        reviews.contest_decision(
            uow=uow, decision_id=by_a_person, client="sales-system", statement="x", clock=clock
        )
    old = decision(uow, decided_at=clock() - timedelta(days=91))
    with pytest.raises(reviews.NotContestable, match="could be contested until"):
        reviews.contest_decision(
            uow=uow, decision_id=old, client="sales-system", statement="x", clock=clock
        )
    with pytest.raises(reviews.InvalidContest, match="statement is empty"):
        reviews.contest_decision(
            uow=uow, decision_id=old, client="sales-system", statement="  ", clock=clock
        )
    assert uow.review_cases.cases == {}
    assert uow.audit_log.entries == []


# Claiming.


def test_a_case_someone_else_holds_cannot_be_claimed(uow, clock, case_id, anna, ben):
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)

    with pytest.raises(rules.WrongState, match="claimed by another reviewer"):
        reviews.claim_case(uow=uow, case_id=case_id, reviewer=ben, clock=clock)
    assert reviews.claim_next_case(uow=uow, reviewer=ben, clock=clock) is None
    assert uow.review_cases.cases[case_id].claimed_by == anna.user_id
    assert uow.audit_log.actions_for(case_id) == ["claimed"]


def test_a_claim_that_loses_the_race_says_so(uow, clock, case_id, anna):
    uow.review_cases.lose_next_claim = True
    with pytest.raises(rules.WrongState, match="claimed by someone else a moment ago"):
        reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    assert uow.audit_log.entries == []


def test_an_idle_claim_lapses_and_the_trail_says_whose_it_was(uow, clock, case_id, anna, ben):
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    clock.advance(seconds=rules.CLAIM_IDLE_LIMIT.total_seconds() + 1)

    taken = reviews.claim_case(uow=uow, case_id=case_id, reviewer=ben, clock=clock)

    assert taken.claimed_by == ben.user_id
    assert uow.audit_log.actions_for(case_id) == ["claimed", "claim_expired", "claimed"]
    assert uow.audit_log.entries[1]["details"] == {"held_by": anna.user_id}


def test_claiming_a_case_one_holds_renews_the_claim(uow, clock, case_id, anna):
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    clock.advance(minutes=10)
    again = reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    assert again.claimed_at == clock()
    assert uow.audit_log.actions_for(case_id) == ["claimed"]


def test_only_case_workers_claim(uow, clock, case_id):
    auditor = person(uow, "aud", Role.AUDITOR)
    with pytest.raises(rules.NotPermitted, match="role auditor may not claim cases"):
        reviews.claim_next_case(uow=uow, reviewer=auditor, clock=clock)


def test_the_holder_alone_keeps_or_releases_a_case(uow, clock, case_id, anna, ben):
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    with pytest.raises(rules.WrongState, match="ben does not hold case"):
        reviews.release_case(uow=uow, case_id=case_id, reviewer=ben, clock=clock)
    with pytest.raises(rules.WrongState, match="claim it before you keep working on it"):
        reviews.keep_claim(uow=uow, case_id=case_id, reviewer=ben, clock=clock)

    released = reviews.release_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)

    assert released.status is CaseStatus.OPEN and released.claimed_by is None
    assert uow.audit_log.actions_for(case_id) == ["claimed", "released"]


def test_a_skipped_case_comes_back_after_a_while(uow, clock, case_id, anna, ben):
    reviews.claim_next_case(uow=uow, reviewer=anna, clock=clock)
    reviews.skip_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)

    assert reviews.claim_next_case(uow=uow, reviewer=anna, clock=clock) is None
    clock.advance(seconds=rules.SKIP_FOR.total_seconds() + 1)
    assert reviews.claim_next_case(uow=uow, reviewer=anna, clock=clock).id == case_id


def test_a_missing_case_is_not_found(uow, clock, anna):
    with pytest.raises(reviews.ReviewNotFound):
        reviews.claim_case(uow=uow, case_id="no-such-case", reviewer=anna, clock=clock)


# Escalation.


def test_an_escalated_case_is_only_for_another_senior(uow, clock, case_id, anna, sirje, siim):
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=sirje, clock=clock)
    escalated = reviews.escalate_case(
        uow=uow,
        case_id=case_id,
        reviewer=sirje,
        note="The bank statement contradicts the customer; a second look is needed.",
        clock=clock,
    )
    assert escalated.status is CaseStatus.OPEN and escalated.escalated_by == sirje.user_id

    with pytest.raises(rules.NotPermitted, match="escalated to the senior reviewers by you"):
        reviews.claim_case(uow=uow, case_id=case_id, reviewer=sirje, clock=clock)
    with pytest.raises(rules.NotPermitted, match="another senior reviewer must take it"):
        reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    assert reviews.claim_next_case(uow=uow, reviewer=anna, clock=clock) is None
    assert reviews.claim_next_case(uow=uow, reviewer=sirje, clock=clock) is None

    assert reviews.claim_next_case(uow=uow, reviewer=siim, clock=clock).id == case_id


def test_only_the_holder_escalates(uow, clock, case_id, anna):
    with pytest.raises(rules.WrongState, match="claim it before you escalate it"):
        reviews.escalate_case(
            uow=uow,
            case_id=case_id,
            reviewer=anna,
            note="The bank statement contradicts the customer entirely.",
            clock=clock,
        )


# Deciding and signing.


def test_a_case_is_decided_only_by_its_holder(uow, clock, case_id, anna, ben):
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=anna, clock=clock)
    with pytest.raises(
        rules.WrongState, match="ben does not hold case .*claim it before you decide"
    ):
        reviews.decide_case(
            uow=uow,
            case_id=case_id,
            reviewer=ben,
            outcome="overturned",
            justification=JUSTIFICATION,
            customer_explanation_et=EXPLAIN_ET,
            customer_explanation_en=EXPLAIN_EN,
            clock=clock,
        )
    case = uow.review_cases.cases[case_id]
    assert case.outcome is None and case.status == CaseStatus.CLAIMED.value


def test_an_unknown_outcome_is_refused_before_anything_is_read(uow, clock, anna):
    with pytest.raises(rules.InvalidInput, match="outcome must be one of"):
        reviews.decide_case(
            uow=uow,
            case_id="any",
            reviewer=anna,
            outcome="maybe",
            justification=JUSTIFICATION,
            customer_explanation_et=EXPLAIN_ET,
            customer_explanation_en=EXPLAIN_EN,
            clock=clock,
        )
    assert uow.commits == uow.rollbacks == 0


def _proposed_above_limit(uow, clock, proposer) -> str:
    case_id = open_case(uow, received_at=clock() - timedelta(days=3), amount=7200.0)
    reviews.claim_case(uow=uow, case_id=case_id, reviewer=proposer, clock=clock)
    proposed = reviews.decide_case(
        uow=uow,
        case_id=case_id,
        reviewer=proposer,
        outcome="overturned",
        justification=JUSTIFICATION,
        customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN,
        clock=clock,
    )
    assert proposed.status is CaseStatus.AWAITING_SECOND_SIGNATURE
    assert proposed.decided_by == proposer.user_id
    return case_id


def test_the_proposer_cannot_second_sign(uow, clock, sirje, siim):
    case_id = _proposed_above_limit(uow, clock, sirje)

    with pytest.raises(rules.NotPermitted, match="different person than the one who proposed"):
        reviews.second_signature(
            uow=uow,
            case_id=case_id,
            signer=sirje,
            agree=True,
            justification=JUSTIFICATION,
            clock=clock,
        )
    assert uow.audit_log.actions_for(case_id) == ["claimed", "proposed_for_second_signature"]


def test_a_second_signature_comes_from_a_senior(uow, clock, anna, ben):
    case_id = _proposed_above_limit(uow, clock, anna)
    with pytest.raises(rules.NotPermitted, match="must come from a senior reviewer; ben is"):
        reviews.second_signature(
            uow=uow,
            case_id=case_id,
            signer=ben,
            agree=True,
            justification=JUSTIFICATION,
            clock=clock,
        )


def test_a_refused_proposal_goes_back_to_the_queue(uow, clock, anna, siim):
    case_id = _proposed_above_limit(uow, clock, anna)

    back = reviews.second_signature(
        uow=uow,
        case_id=case_id,
        signer=siim,
        agree=False,
        justification="The bank statement does not show the October transfer.",
        clock=clock,
    )

    assert back.status is CaseStatus.OPEN
    assert back.outcome is None and back.justification is None and back.claimed_by is None
    assert uow.review_cases.progress_rows[case_id].second_signature_refused_by == siim.user_id
    assert uow.audit_log.actions_for(case_id)[-1] == "second_signature_refused"


def test_only_a_case_awaiting_it_takes_a_second_signature(uow, clock, case_id, siim):
    with pytest.raises(rules.WrongState, match="does not await a second signature"):
        reviews.second_signature(
            uow=uow,
            case_id=case_id,
            signer=siim,
            agree=True,
            justification=JUSTIFICATION,
            clock=clock,
        )


# Extending.


def test_a_senior_extends_and_the_client_is_told(uow, clock, case_id, sirje):
    extended = reviews.extend_case(
        uow=uow, case_id=case_id, reviewer=sirje, further_months=2, reason=REASON, clock=clock
    )

    assert extended.extended_due_at > extended.due_at
    assert extended.extension_reason == REASON
    [event] = uow.webhook_outbox.events
    assert event["type"] == "review.extended" and event["client_id"] == "sales-system"
    assert event["data"]["extended_due_on"] == extended.due_on.isoformat()
    assert uow.audit_log.actions_for(case_id) == ["extended"]


def test_extension_rules(uow, clock, case_id, anna, sirje):
    with pytest.raises(rules.NotPermitted, match="only a senior reviewer may extend"):
        reviews.extend_case(
            uow=uow, case_id=case_id, reviewer=anna, further_months=1, reason=REASON, clock=clock
        )
    with pytest.raises(rules.InvalidInput, match="1 to 2 further months, not 3"):
        reviews.extend_case(
            uow=uow, case_id=case_id, reviewer=sirje, further_months=3, reason=REASON, clock=clock
        )
    reviews.extend_case(
        uow=uow, case_id=case_id, reviewer=sirje, further_months=2, reason=REASON, clock=clock
    )
    with pytest.raises(rules.WrongState, match="a further extension must move the deadline later"):
        reviews.extend_case(
            uow=uow, case_id=case_id, reviewer=sirje, further_months=1, reason=REASON, clock=clock
        )
    uow.review_cases.cases[case_id].status = CaseStatus.RESOLVED.value
    with pytest.raises(rules.CaseClosed, match="resolved and closed; nobody can move its deadline"):
        reviews.extend_case(
            uow=uow, case_id=case_id, reviewer=sirje, further_months=2, reason=REASON, clock=clock
        )
    assert len(uow.webhook_outbox.events) == 1


def test_a_case_is_extended_only_within_its_first_month(uow, clock, case_id, sirje):
    clock.advance(days=40)
    with pytest.raises(rules.WrongState, match="the first month has passed"):
        reviews.extend_case(
            uow=uow, case_id=case_id, reviewer=sirje, further_months=1, reason=REASON, clock=clock
        )
