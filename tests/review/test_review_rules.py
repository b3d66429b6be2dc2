"""The rules of a review case: deadlines, escalation, extensions, who may do what."""

from datetime import UTC, date, datetime, timedelta

import pytest

from scoring.domain.policy import Policy
from scoring.domain.review import (
    Actor,
    Escalation,
    InvalidInput,
    NewTerms,
    NotPermitted,
    ReviewOutcome,
    Role,
    WrongState,
    case_due_at,
    check_escalation_note,
    check_justification,
    check_new_terms,
    escalation,
    local_day,
    may_claim,
    may_second_sign,
    may_work_cases,
    needs_second_signature,
    plan_extension,
)
from scoring.service.policy_files import policy_for_version

REVIEWER = Actor(1, "anna", Role.REVIEWER)
SENIOR = Actor(2, "sirje", Role.SENIOR_REVIEWER)
AUDITOR = Actor(3, "aud", Role.AUDITOR)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return policy_for_version("2026.11.1")


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # 31 January: February has no 31st, so the last day of February (a Friday in 2025).
        (date(2025, 1, 31), date(2025, 2, 28)),
        # A leap year: 29 February (a Tuesday).
        (date(2028, 1, 31), date(2028, 2, 29)),
        # 28 February 2027 is a Sunday: the next working day, Monday 1 March.
        (date(2027, 1, 31), date(2027, 3, 1)),
        # 30 April -> 30 May 2026, a Saturday -> Monday 1 June.
        (date(2026, 4, 30), date(2026, 6, 1)),
        # 24 January -> 24 February, Independence Day (holiday) -> 25 February.
        (date(2025, 1, 24), date(2025, 2, 25)),
        # 15 March -> 15 April 2028, the Saturday after Good Friday -> Monday 17 April.
        (date(2028, 3, 15), date(2028, 4, 17)),
    ],
)
def test_a_case_is_due_one_calendar_month_after_receipt_on_a_working_day(received, due):
    assert local_day(case_due_at(at(received))) == due


def test_the_due_day_lasts_until_its_end_in_estonia():
    due_at = case_due_at(at(date(2025, 1, 31)))
    # 28 February 2025 ends at 24:00 in Tallinn (UTC+2), which is 22:00 UTC.
    assert due_at == datetime(2025, 2, 28, 21, 59, 59, 999999, tzinfo=UTC)


def test_a_case_received_late_in_the_evening_counts_from_the_estonian_day():
    # 22:30 UTC on 31 January is already 1 February in Tallinn.
    received = datetime(2025, 1, 31, 22, 30, tzinfo=UTC)
    assert local_day(case_due_at(received)) == date(2025, 3, 3)  # 1 March is a Saturday


def test_cases_near_or_past_their_deadline_are_escalated():
    due = datetime(2025, 2, 28, 21, 59, tzinfo=UTC)
    assert escalation(due, now=due - timedelta(days=6)) is None
    assert escalation(due, now=due - timedelta(days=5)) is Escalation.NEAR_DUE
    assert escalation(due, now=due) is Escalation.NEAR_DUE
    assert escalation(due, now=due + timedelta(seconds=1)) is Escalation.OVERDUE


def extend(actor=SENIOR, *, months=2, reason="We are waiting for the bureau's correction.", now):
    received = at(date(2025, 1, 31))
    return plan_extension(
        actor=actor,
        received_at=received,
        due_at=case_due_at(received),
        extended_due_at=None,
        further_months=months,
        reason=reason,
        now=now,
    )


def test_a_senior_reviewer_extends_by_up_to_two_months_with_a_notice_due_in_the_first():
    extension = extend(now=at(date(2025, 2, 20)))
    # 31 January + 3 months = 30 April 2025 (a Wednesday).
    assert local_day(extension.extended_due_at) == date(2025, 4, 30)
    assert local_day(extension.notice_due_at) == date(2025, 2, 28)
    assert local_day(extend(months=1, now=at(date(2025, 2, 20))).extended_due_at) == date(
        2025, 3, 31
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"actor": REVIEWER}, NotPermitted, "only a senior reviewer"),
        ({"actor": AUDITOR}, NotPermitted, "only a senior reviewer"),
        ({"months": 3}, InvalidInput, "1 to 2 further months"),
        ({"months": 0}, InvalidInput, "1 to 2 further months"),
        ({"reason": "  busy  "}, InvalidInput, "needs a reason"),
    ],
)
def test_extensions_are_refused_outside_the_rules(kwargs, error, message):
    with pytest.raises(error, match=message):
        extend(now=at(date(2025, 2, 20)), **kwargs)


def test_an_extension_after_the_first_month_is_refused():
    with pytest.raises(WrongState, match="first month has passed"):
        extend(now=at(date(2025, 3, 1)))


def test_a_justification_is_required_either_way():
    for text in ("", "   ", "ok", "x" * 19):
        with pytest.raises(InvalidInput, match="justification is required"):
            check_justification(text)
    assert check_justification("  Payments were made on time; bank error.  ").startswith("Pay")


def test_only_reviewers_and_seniors_work_cases_and_a_second_signer_is_someone_else():
    assert may_work_cases(REVIEWER) and may_work_cases(SENIOR)
    assert not may_work_cases(AUDITOR)
    assert not may_work_cases(Actor(4, "root", Role.ADMIN))
    assert may_second_sign(SENIOR, decided_by=REVIEWER.user_id)
    assert not may_second_sign(SENIOR, decided_by=SENIOR.user_id)
    assert not may_second_sign(REVIEWER, decided_by=SENIOR.user_id)
    assert not may_second_sign(AUDITOR, decided_by=REVIEWER.user_id)


def test_an_escalated_case_may_be_claimed_only_by_another_senior_reviewer():
    other_senior = Actor(5, "siim", Role.SENIOR_REVIEWER)
    for actor in (REVIEWER, SENIOR, other_senior):
        assert may_claim(actor, escalated_by=None)
    assert not may_claim(AUDITOR, escalated_by=None)
    # A reviewer escalated: every senior may take it, no reviewer, not even the same one.
    assert may_claim(SENIOR, escalated_by=REVIEWER.user_id)
    assert not may_claim(REVIEWER, escalated_by=REVIEWER.user_id)
    assert not may_claim(Actor(6, "ben", Role.REVIEWER), escalated_by=REVIEWER.user_id)
    assert not may_claim(AUDITOR, escalated_by=REVIEWER.user_id)
    # A senior escalated for a second pair of eyes: another senior, not themselves.
    assert may_claim(other_senior, escalated_by=SENIOR.user_id)
    assert not may_claim(SENIOR, escalated_by=SENIOR.user_id)


def test_an_escalation_needs_a_note_saying_what_to_look_at():
    for text in ("", "   ", "please check", "x" * 19):
        with pytest.raises(InvalidInput, match="escalation needs a note"):
            check_escalation_note(text)
    note = "  The bank statement contradicts the billing records.  "
    assert check_escalation_note(note) == note.strip()


def test_a_second_signature_is_needed_to_grant_more_than_the_policy_amount(policy):
    limit = policy.second_signature_above_eur
    assert needs_second_signature(
        ReviewOutcome.OVERTURNED, applied_amount_eur=limit + 1, new_terms=None, policy=policy
    )
    assert not needs_second_signature(
        ReviewOutcome.OVERTURNED, applied_amount_eur=limit, new_terms=None, policy=policy
    )
    assert not needs_second_signature(
        ReviewOutcome.UPHELD, applied_amount_eur=limit * 3, new_terms=None, policy=policy
    )
    assert not needs_second_signature(
        ReviewOutcome.TERMS_CHANGED,
        applied_amount_eur=limit * 2,
        new_terms=NewTerms(limit - 100, 24),
        policy=policy,
    )


def test_new_terms_come_only_with_terms_changed_and_must_fit_the_policy(policy):
    def check(outcome, terms):
        return check_new_terms(outcome, terms, product_category="phone", policy=policy)

    assert check(ReviewOutcome.TERMS_CHANGED, NewTerms(1500, 24)) == NewTerms(1500, 24)
    with pytest.raises(InvalidInput, match="needs the new amount and term"):
        check(ReviewOutcome.TERMS_CHANGED, None)
    with pytest.raises(InvalidInput, match="13 months is not offered"):
        check(ReviewOutcome.TERMS_CHANGED, NewTerms(1500, 13))
    with pytest.raises(InvalidInput, match="product limit of 2000 EUR"):
        check(ReviewOutcome.TERMS_CHANGED, NewTerms(2500, 24))
    with pytest.raises(InvalidInput, match="only with terms_changed"):
        check(ReviewOutcome.UPHELD, NewTerms(1500, 24))

    assert check(ReviewOutcome.TERMS_CHANGED, NewTerms(0.01, 24)) == NewTerms(0.01, 24)
    assert check(ReviewOutcome.TERMS_CHANGED, NewTerms(1499.9, 24)) == NewTerms(1499.9, 24)
    for amount in (float("nan"), float("inf"), 0.001, 12.345):
        with pytest.raises(InvalidInput, match="at most two decimals"):
            check(ReviewOutcome.TERMS_CHANGED, NewTerms(amount, 24))
    for amount in (0.0, -5.0):
        with pytest.raises(InvalidInput, match="at least 0.01"):
            check(ReviewOutcome.TERMS_CHANGED, NewTerms(amount, 24))

