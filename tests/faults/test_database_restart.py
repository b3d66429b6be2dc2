"""PostgreSQL restarted under load: 503s meanwhile, recovery by itself, nothing lost or doubled.

The database is a private cluster on a free port (the machine's shared server is never
touched). The API runs as ``installment serve`` against it while four sales-system
threads send applications, each retried with its one Idempotency-Key after a 503, and the
cluster is stopped (ending every session at once) and started again in the middle.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import httpx
import pytest
from fault_load import Checkout, application, run_concurrently
from fault_processes import issue_key, postgres_bin_dir, private_cluster
from sqlalchemy import func, select

from scoring.bureau.simulator import run_simulator
from scoring.service import decision_log
from scoring.storage import tables as t
from scoring.storage.db import UnitOfWork, create_engine_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SHOPPERS = 4
APPLICATIONS_EACH = 30
STORED_BEFORE_STOP = 24
OUTAGE_S = 2.5


@pytest.fixture
def cluster():
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with private_cluster(bin_dir) as cluster:
        yield cluster


def test_a_database_restart_under_load_loses_and_doubles_nothing(
    cluster, serving_home, api_processes
):
    key = issue_key(cluster.url)
    checkout = Checkout(key)
    stored = threading.Semaphore(0)
    with run_simulator(serving_home.world) as bureau_url:
        api = api_processes(database_url=cluster.url, bureau_url=bureau_url, name="restart")
        deadline = time.monotonic() + 120

        def shopper(first: int) -> list:
            finals = []
            with httpx.Client(timeout=15.0) as http:
                for n in range(first, first + APPLICATIONS_EACH):
                    body = application(n, prefix="RST")
                    final = checkout.until_stored(http, api.base_url, body, deadline=deadline)
                    if final.status == 201:
                        stored.release()
                    finals.append(final)
            return finals

        outage: dict[str, float] = {}  # monotonic times, and the readiness seen while down

        def restart() -> None:
            for _ in range(STORED_BEFORE_STOP):
                assert stored.acquire(timeout=60), "no decisions were stored before the restart"
            cluster.stop()
            outage["down"] = time.monotonic()
            outage["readyz"] = httpx.get(f"{api.base_url}/readyz", timeout=10.0).status_code
            time.sleep(OUTAGE_S)
            outage["up"] = time.monotonic()
            cluster.start()

        restarter = threading.Thread(target=restart)
        restarter.start()
        try:
            jobs = [lambda i=i: shopper(i * 1000) for i in range(SHOPPERS)]
            finals = [a for batch in run_concurrently(jobs, workers=SHOPPERS) for a in batch]
        finally:
            restarter.join(timeout=120)
        ready = httpx.get(f"{api.base_url}/readyz", timeout=5.0)

    # Every application was decided in the end, by the same API process, without help.
    assert "down" in outage and "up" in outage, "the database was not restarted"
    assert (outage["readyz"], ready.status_code) == (503, 200)
    assert [a.status for a in finals if a.status not in (200, 201)] == []
    assert len(finals) == SHOPPERS * APPLICATIONS_EACH

    # While the database was down, only 503s, saying nothing was stored.
    answers = checkout.answers
    assert {a.status for a in answers} <= {200, 201, 503}
    refused = [a for a in answers if a.status == 503]
    assert refused, "no request met the outage"
    assert {a.body["error"]["code"] for a in refused} == {"database_unavailable"}
    settled_down = outage["down"] + 1.0
    during = [a for a in answers if settled_down <= a.ended_at <= outage["up"]]
    assert during and {a.status for a in during} == {503}

    # Each application has exactly one stored decision, the one every success answered.
    answered: dict[str, set[str]] = defaultdict(set)
    for answer in answers:
        if answer.status in (200, 201):
            answered[answer.application_id].add(answer.decision_id)
    assert all(len(ids) == 1 for ids in answered.values())
    engine = create_engine_for(cluster.url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            session = uow.session
            stored_rows = dict(
                session.execute(
                    select(t.Application.external_id, t.Decision.id).join(
                        t.Decision, t.Decision.application_id == t.Application.id
                    )
                ).all()
            )
            decisions = session.scalar(select(func.count()).select_from(t.Decision))
            assert decision_log.verify(session=session) == []
            assert decision_log.entry_count(session=session) == decisions
    finally:
        engine.dispose()
    assert decisions == len(answered) == SHOPPERS * APPLICATIONS_EACH
    assert stored_rows == {app: next(iter(ids)) for app, ids in answered.items()}
