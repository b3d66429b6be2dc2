"""Many reviewers claiming at once never hold the same case (PostgreSQL and SQLite)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import review_cases
from sqlalchemy import select

from scoring.domain.review import CaseStatus, Role
from scoring.service import reviews
from scoring.storage.tables import ReviewCase

REVIEWERS = 8
CLAIMS_EACH = 25
CASES = 160  # fewer than all claims: the last claims find the queue empty


def test_parallel_claims_never_give_one_case_to_two_reviewers(uow_factory):
    now = datetime(2027, 1, 31, 9, tzinfo=UTC)
    with uow_factory() as uow:
        s = uow.session
        decision_ids = [
            review_cases.decision(s, decided_at=now - timedelta(days=1)) for _ in range(CASES)
        ]
        for i, decision_id in enumerate(decision_ids):
            review_cases.open_case(
                s, decision_id=decision_id, received_at=now - timedelta(minutes=i)
            )
        people = [review_cases.user(s, f"r{i}", Role.REVIEWER) for i in range(REVIEWERS)]

    got: dict[str, list[str]] = {p.username: [] for p in people}
    errors: list[BaseException] = []
    start = threading.Barrier(REVIEWERS)

    def work(person):
        try:
            start.wait()
            for _ in range(CLAIMS_EACH):
                view = reviews.claim_next_case(
                    uow=uow_factory(), reviewer=person, clock=lambda: now
                )
                if view is not None:
                    got[person.username].append(view.id)
        except BaseException as error:  # reported below, with the thread's failure
            errors.append(error)

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    claimed = Counter(case_id for ids in got.values() for case_id in ids)
    assert max(claimed.values()) == 1, "a case was handed to two reviewers"
    assert len(claimed) == CASES
    with uow_factory() as uow:
        holders = dict(uow.session.execute(select(ReviewCase.id, ReviewCase.claimed_by)).all())
        statuses = set(uow.session.scalars(select(ReviewCase.status)))
    assert statuses == {CaseStatus.CLAIMED.value}
    by_id = {p.username: p.user_id for p in people}
    for username, ids in got.items():
        assert all(holders[case_id] == by_id[username] for case_id in ids)
