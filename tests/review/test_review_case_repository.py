"""The review-case repository's named queue queries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import review_cases

from scoring.domain.review import CaseStatus
from scoring.storage.tables import ReviewCase
from scoring.storage.tables_reviews import ReviewCaseProgress


def _case(uow, clock, *, received_days_ago: int) -> str:
    decision_id = review_cases.decision(uow.session, decided_at=clock() - timedelta(days=40))
    return review_cases.open_case(
        uow.session,
        decision_id=decision_id,
        received_at=clock() - timedelta(days=received_days_ago),
    )


def _awaiting(uow, case_id: str, *, proposed_by: int | None) -> None:
    uow.session.get(ReviewCase, case_id).status = CaseStatus.AWAITING_SECOND_SIGNATURE.value
    progress = uow.session.get(ReviewCaseProgress, case_id)
    if proposed_by is None:
        uow.session.delete(progress)
    else:
        progress.decided_by = proposed_by
    uow.session.flush()


def test_awaiting_signature_for_leaves_out_the_signers_own_proposals(uow_factory, clock, people):
    with uow_factory() as uow:
        by_senior = _case(uow, clock, received_days_ago=9)
        by_senior2 = _case(uow, clock, received_days_ago=8)
        # A case without a progress row has no proposer, so every senior may sign it.
        unknown = _case(uow, clock, received_days_ago=7)
        _awaiting(uow, by_senior, proposed_by=people.senior.user_id)
        _awaiting(uow, by_senior2, proposed_by=people.senior2.user_id)
        _awaiting(uow, unknown, proposed_by=None)
        _case(uow, clock, received_days_ago=10)  # open: not awaiting a signature

    with uow_factory() as uow:
        cases = uow.review_cases
        assert [c.id for c in cases.awaiting_signature_for(people.senior.user_id)] == [
            by_senior2,
            unknown,
        ]
        assert [c.id for c in cases.awaiting_signature_for(people.senior2.user_id)] == [
            by_senior,
            unknown,
        ]


def test_the_queue_is_oldest_due_first_counting_extensions(uow_factory, clock, people):
    with uow_factory() as uow:
        older = _case(uow, clock, received_days_ago=9)
        newer = _case(uow, clock, received_days_ago=2)
        extended = _case(uow, clock, received_days_ago=12)
        row = uow.session.get(ReviewCase, extended)
        row.extended_due_at = row.due_at + timedelta(days=60)
        row.extension_reason = "Waiting for the bank's statement of the October transfers."

    with uow_factory() as uow:
        cases = uow.review_cases
        assert [c.id for c in cases.claimable_for(people.anna, clock())] == [
            older,
            newer,
            extended,
        ]
        assert cases.next_claimable_for(people.anna, clock()).id == older
        cases.skip(older, people.anna.user_id, clock() + timedelta(hours=1))
        assert [c.id for c in cases.claimable_for(people.anna, clock())] == [newer, extended]
        assert [c.id for c in cases.claimable_for(people.ben, clock())][0] == older
