"""Group commit: decisions stored together, chained in order, each answered as if alone."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import date

import pytest
from service_fakes import BOTH_DATABASES, application
from sqlalchemy import func, select, text

from scoring.domain.personal_code import build
from scoring.service import decision_log
from scoring.service.decision_writer import DecisionWriter
from scoring.service.decisions import DecisionView, store_decisions
from scoring.service.errors import ApplicationAlreadyDecided
from scoring.storage import tables as t

# Five adults, valid codes (built with their check digits).
CODES = [build(date(1970 + n, 3, 1 + n), female=n % 2 == 1, serial=100 + n) for n in range(5)]


def stored(uow_factory) -> dict[str, str]:
    with uow_factory() as uow:
        rows = uow.session.execute(
            select(t.Application.external_id, t.Decision.id).join(
                t.Decision, t.Decision.application_id == t.Application.id
            )
        ).all()
        assert decision_log.verify(session=uow.session) == []
        entries = uow.session.scalars(
            select(t.DecisionLogEntry.decision_id).order_by(t.DecisionLogEntry.seq)
        ).all()
    return dict(rows), entries


@BOTH_DATABASES
def test_a_group_is_stored_in_one_go_and_chained_in_the_order_given(
    prepare, migrated_engine, uow_factory
):
    group = [
        prepare(application(application_id=f"G-{n}", code=code), key=f"k-{n}")
        for n, code in enumerate(CODES)
    ]
    with migrated_engine.connect() as connection:
        answers = store_decisions(connection, group)

    assert [a.decision_id for a in answers] == [p.decision["id"] for p in group]
    assert all(isinstance(a, DecisionView) and not a.idempotent_replay for a in answers)
    decisions, entries = stored(uow_factory)
    assert decisions == {f"G-{n}": p.decision["id"] for n, p in enumerate(group)}
    assert entries == [p.decision["id"] for p in group]


@BOTH_DATABASES
def test_in_a_group_a_review_case_a_refusal_and_a_twin_are_each_answered_rightly(
    prepare, decide, migrated_engine, uow_factory
):
    # Prepared before another request decided the same application: refused when stored.
    refused = prepare(application(application_id="DONE", code=CODES[4]), key="second")
    decide(application(application_id="DONE", code=CODES[4]), key="first")
    plain = prepare(application(application_id="P-1", code=CODES[0]))
    review = prepare(application(application_id="R-1", code=CODES[1], human_review_requested=True))
    twin_a = prepare(application(application_id="T-1", code=CODES[2]), key="twin")
    twin_b = prepare(application(application_id="T-1", code=CODES[2]), key="twin")
    with migrated_engine.connect() as connection:
        answers = store_decisions(connection, [plain, review, refused, twin_a, twin_b])

    assert answers[0].decision_id == plain.decision["id"]
    assert answers[1].outcome == "pending_review"
    assert isinstance(answers[2], ApplicationAlreadyDecided)
    # The twins met a unique key: the group was stored again one by one, and the second
    # twin is answered with the first one's decision.
    assert answers[3].decision_id == twin_a.decision["id"]
    assert answers[4].decision_id == twin_a.decision["id"] and answers[4].idempotent_replay
    decisions, entries = stored(uow_factory)
    assert set(decisions) == {"DONE", "P-1", "R-1", "T-1"} and len(entries) == 4
    with uow_factory() as uow:
        cases = uow.session.scalars(select(t.ReviewCase.decision_id)).all()
    assert cases == [review.decision["id"]]


@BOTH_DATABASES
def test_a_group_that_cannot_be_stored_stores_nothing(prepare, migrated_engine, uow_factory):
    group = [prepare(application(application_id=f"F-{n}", code=c)) for n, c in enumerate(CODES)]
    with migrated_engine.begin() as connection:
        connection.execute(text("DROP TABLE decision_inputs"))
    with migrated_engine.connect() as connection, pytest.raises(Exception, match="decision_inputs"):
        store_decisions(connection, group)
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(t.Decision)) == 0
        assert uow.session.scalar(select(func.count()).select_from(t.DecisionLogEntry)) == 0


@BOTH_DATABASES
def test_the_writer_answers_every_caller_once_its_decision_is_stored(
    prepare, migrated_engine, uow_factory
):
    prepared = [
        prepare(application(application_id=f"W-{n}", code=CODES[n % len(CODES)]), key=f"w-{n}")
        for n in range(20)
    ]
    writer = DecisionWriter(migrated_engine)
    answers: dict[int, object] = {}
    start = threading.Barrier(4)

    def caller(first: int) -> None:
        start.wait(timeout=10)
        for n in range(first, len(prepared), 4):
            answers[n] = writer.submit(prepared[n]).result(timeout=30)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    writer.close()

    assert {n: a.decision_id for n, a in answers.items()} == {
        n: p.decision["id"] for n, p in enumerate(prepared)
    }
    decisions, entries = stored(uow_factory)
    assert len(decisions) == len(entries) == 20


def test_the_writer_keeps_decisions_of_one_customer_in_separate_groups(prepare, migrated_engine):
    writer = DecisionWriter(migrated_engine)
    writer.close()  # no thread taking groups: they are read here
    same = [prepare(application(application_id=f"S-{n}", code=CODES[0])) for n in range(3)]
    other = prepare(application(application_id="O-1", code=CODES[1]))
    gone = prepare(application(application_id="C-1", code=CODES[2]))
    futures = {}
    for decision in (*same, gone, other):
        futures[decision.external_id] = Future()
        writer._waiting.append((decision, futures[decision.external_id]))
    futures["C-1"].cancel()  # its caller gave up while it waited: it is dropped
    writer._closed = False
    groups = [writer._next_group(), writer._next_group(), writer._next_group()]
    assert [[d.external_id for d, _ in g] for g in groups] == [["S-0", "O-1"], ["S-1"], ["S-2"]]
    assert all(futures[name].running() for name in ("S-0", "S-1", "S-2", "O-1"))
