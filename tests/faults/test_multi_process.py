"""Several processes on one PostgreSQL database: two API replicas and reviewers.

Idempotency holds across the replicas, the decision log stays one unforked chain, and
reviewers in processes of their own never hold the same case.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fault_load import Checkout, application, run_concurrently
from fault_processes import ApiProcess, issue_key, start_api, start_reviewers
from sqlalchemy import func, select

from scoring.bureau.simulator import run_simulator
from scoring.service import decision_log
from scoring.storage import tables as t
from scoring.storage.db import UnitOfWork, create_engine_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
import review_cases  # noqa: E402

PAIRS = 12
SHOPPERS = 6
DECISIONS_EACH = 15


@dataclass
class Replicas:
    apis: list[ApiProcess]
    checkout: Checkout
    database_url: str
    numbers: Iterator[int]

    def stored(self) -> tuple[dict[str, list[str]], int]:
        """Decision ids per application id, and how many entries the log holds."""
        engine = create_engine_for(self.database_url)
        try:
            with UnitOfWork.for_engine(engine) as uow:
                rows = uow.session.execute(
                    select(t.Application.external_id, t.Decision.id).join(
                        t.Decision, t.Decision.application_id == t.Application.id
                    )
                ).all()
                entries = decision_log.entry_count(session=uow.session)
        finally:
            engine.dispose()
        by_application: dict[str, list[str]] = {}
        for external_id, decision_id in rows:
            by_application.setdefault(external_id, []).append(decision_id)
        return by_application, entries


@pytest.fixture(scope="module")
def replicas(serving_home, shared_postgres_url, tmp_path_factory) -> Iterator[Replicas]:
    folder = tmp_path_factory.mktemp("replicas")
    key = issue_key(shared_postgres_url)
    with run_simulator(serving_home.world) as bureau_url:
        started: list[ApiProcess] = []

        def start(name: str) -> ApiProcess:
            api = start_api(
                home=serving_home.home, database_url=shared_postgres_url,
                bureau_url=bureau_url, log=folder / f"{name}.log",
            )  # fmt: skip
            started.append(api)
            return api

        try:
            apis = run_concurrently([lambda: start("a"), lambda: start("b")], workers=2)
            yield Replicas(apis, Checkout(key), shared_postgres_url, itertools.count(1))
        finally:
            for api in started:
                api.stop()


def test_one_idempotency_key_sent_to_both_replicas_at_once_stores_one_decision(replicas):
    first, second = replicas.apis
    pairs = []
    with httpx.Client(timeout=30.0) as http_a, httpx.Client(timeout=30.0) as http_b:
        for _ in range(PAIRS):
            body = application(next(replicas.numbers), prefix="IDEM")
            key = f"key-{body['application_id']}"
            start = threading.Barrier(2)

            def send(http, api, body=body, key=key, start=start):
                start.wait(timeout=10)
                return replicas.checkout.post(http, api.base_url, body, key=key)

            pairs.append(
                run_concurrently(
                    [lambda s=send: s(http_a, first), lambda s=send: s(http_b, second)],
                    workers=2,
                )
            )
    for one, other in pairs:
        assert sorted([one.status, other.status]) == [200, 201]
        # The same answer; follow URLs start with the address each replica was asked on.
        assert _on_one_address(one.body) == _on_one_address(other.body)
    stored, _ = replicas.stored()
    for one, _other in pairs:
        assert stored[one.application_id] == [one.decision_id]


def test_concurrent_decisions_on_both_replicas_leave_one_verifiable_chain(replicas):
    def shopper(index: int) -> list:
        api = replicas.apis[index % 2]
        answers = []
        with httpx.Client(timeout=30.0) as http:
            for _ in range(DECISIONS_EACH):
                body = application(next(replicas.numbers), prefix="CHAIN")
                answers.append(
                    replicas.checkout.post(
                        http, api.base_url, body, key=f"key-{body['application_id']}"
                    )
                )
        return answers

    jobs = [lambda i=i: shopper(i) for i in range(SHOPPERS)]
    answers = [a for batch in run_concurrently(jobs, workers=SHOPPERS) for a in batch]
    assert Counter(a.status for a in answers) == {201: SHOPPERS * DECISIONS_EACH}

    stored, entries = replicas.stored()
    for answer in answers:
        assert stored[answer.application_id] == [answer.decision_id]
    decisions = sum(len(ids) for ids in stored.values())
    assert entries == decisions
    engine = create_engine_for(replicas.database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            session = uow.session
            assert decision_log.verify(session=session) == []
            seqs = list(session.scalars(select(t.DecisionLogEntry.seq).order_by("seq")))
            parents = session.scalar(
                select(func.count(func.distinct(t.DecisionLogEntry.prev_hash)))
            )
    finally:
        engine.dispose()
    # One line: seq 1..n without gaps, and no entry shares its predecessor with another.
    assert seqs == list(range(1, decisions + 1))
    assert parents == decisions


REVIEWER_PROCESSES = 4
CLAIMS_EACH = 30
CASES = 100  # fewer than all claims: the last claims find the queue empty


def test_reviewer_processes_claiming_at_once_never_hold_the_same_case(postgres_url, tmp_path):
    from scoring.domain.review import Role, case_due_at
    from scoring.storage.migrate import upgrade
    from scoring.storage.tables_reviews import ReviewCaseProgress

    upgrade(postgres_url)
    now = datetime(2027, 1, 31, 9, tzinfo=UTC)
    engine = create_engine_for(postgres_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            s = uow.session
            for i in range(CASES):
                decision_id = review_cases.decision(s, decided_at=now - timedelta(days=1))
                received = now - timedelta(minutes=i)
                case_id = str(uuid.uuid4())
                s.add(
                    t.ReviewCase(
                        id=case_id, decision_id=decision_id, kind="contest", status="open",
                        statement="statement", received_at=received,
                        due_at=case_due_at(received),
                    )
                )  # fmt: skip
                s.flush()
                s.add(ReviewCaseProgress(case_id=case_id, attachments=[]))
            people = [
                review_cases.user(s, f"p{i}", Role.REVIEWER) for i in range(REVIEWER_PROCESSES)
            ]

        given = start_reviewers(
            database_url=postgres_url, reviewers=[(p.user_id, p.username) for p in people],
            claims=CLAIMS_EACH, home=tmp_path,
        )  # fmt: skip
        got = {p.user_id: ids for p, ids in zip(people, given, strict=True)}

        claimed = Counter(case_id for ids in got.values() for case_id in ids)
        assert max(claimed.values()) == 1, "a case was handed to two reviewers"
        assert len(claimed) == CASES
        assert sum(1 for ids in got.values() if ids) > 1, "the claims did not overlap"
        with UnitOfWork.for_engine(engine) as uow:
            holders = dict(
                uow.session.execute(select(t.ReviewCase.id, t.ReviewCase.claimed_by)).all()
            )
    finally:
        engine.dispose()
    for user_id, ids in got.items():
        assert all(holders[case_id] == user_id for case_id in ids)


def _on_one_address(body: dict | None) -> dict | None:
    """The answer with its follow URLs' scheme, host and port left out."""
    import re

    return json.loads(re.sub(r"http://127\.0\.0\.1:\d+", "", json.dumps(body)))
