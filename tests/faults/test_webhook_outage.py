"""The sales system's webhook receiver down for an hour: every review outcome arrives after.

Time is a controlled clock: the worker is woken whenever the next event falls due. The
receiver is not listening for the first half hour, answers 503 for the second, then
comes up; its first acceptance is "lost" (it keeps the event but answers 500), so that
event comes again and the receiver's de-duplication by event id is exercised too.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fault_processes import free_port
from sqlalchemy import func, select

from scoring.domain.review import Role
from scoring.service import reviews, webhooks
from scoring.storage.db import UnitOfWork, session_factory
from scoring.storage.tables_reviews import WebhookEvent

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
import review_cases  # noqa: E402

# What the customer's letter says of the outcome (the justification stays internal).
EXPLAIN_ET = "Teie maksete ajalugu ei toeta seda järelmaksu."
EXPLAIN_EN = "Your payment history does not support this plan."

SECRET = "a-shared-secret-of-the-sales-system"
WHY = "The bureau class and the arrears were checked against the statement; both hold."
CASES = 6
SILENT_FOR = timedelta(minutes=30)  # connection refused
REFUSING_FOR = timedelta(minutes=30)  # then HTTP 503
MAX_ROUNDS = 200


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Receiver:
    """The sales system's endpoint: checks signatures, keeps each event id once."""

    def __init__(self, port: int, clock: Clock, *, up_at: datetime) -> None:
        self.requests: list[dict] = []
        self.processed: dict[str, int] = {}
        self.lost_one_answer = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = webhooks.verify_signature(
                    secret=SECRET,
                    header=self.headers[webhooks.SIGNATURE_HEADER],
                    body=body,
                    now=clock(),
                )
                event_id = self.headers[webhooks.EVENT_ID_HEADER]
                receiver.requests.append(
                    {"event_id": event_id, "signed": signed, "at": clock(), "body": body}
                )
                if clock() < up_at:
                    status = 503
                elif not signed or json.loads(body)["id"] != event_id:
                    status = 401
                else:
                    if event_id not in receiver.processed:
                        receiver.processed[event_id] = 1
                    status = 204
                    if not receiver.lost_one_answer:
                        receiver.lost_one_answer = True
                        status = 500  # processed, but the answer says otherwise
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def uow_factory(migrated_engine):
    sessions = session_factory(migrated_engine)
    return lambda: UnitOfWork(sessions)


EVENTS_PER_CASE = 3


def resolved_reviews(uow_factory, clock: Clock) -> list[str]:
    """Contest, claim and uphold ``CASES`` decisions; each opening, claim and outcome is an
    event."""
    with uow_factory() as uow:
        anna = review_cases.user(uow.session, "anna", Role.REVIEWER)
        decision_ids = [
            review_cases.decision(uow.session, decided_at=clock.now - timedelta(days=1))
            for _ in range(CASES)
        ]
    case_ids = []
    for decision_id in decision_ids:
        case = reviews.contest_decision(
            uow=uow_factory(), decision_id=decision_id, client="sales-system",
            statement="I paid both invoices on time.", clock=clock,
        )  # fmt: skip
        reviews.claim_case(uow=uow_factory(), case_id=case.id, reviewer=anna, clock=clock)
        reviews.decide_case(
            uow=uow_factory(), case_id=case.id, reviewer=anna, outcome="upheld",
            justification=WHY, customer_explanation_et=EXPLAIN_ET,
            customer_explanation_en=EXPLAIN_EN, clock=clock,
        )  # fmt: skip
        case_ids.append(case.id)
    return case_ids


def outbox(uow_factory) -> list[webhooks.EventView]:
    with uow_factory() as uow:
        return webhooks.events(session=uow.session)


def test_every_outcome_arrives_once_after_the_receiver_was_down_for_an_hour(uow_factory):
    clock = Clock(datetime(2027, 1, 31, 9, tzinfo=UTC))
    port = free_port()
    with uow_factory() as uow:
        review_cases.client(uow.session)
    webhooks.add_subscription(
        uow=uow_factory(), client="sales-system", url=f"http://127.0.0.1:{port}/events",
        secret=SECRET, clock=clock,
    )  # fmt: skip
    case_ids = resolved_reviews(uow_factory, clock)
    started = clock.now
    listen_at, up_at = started + SILENT_FOR, started + SILENT_FOR + REFUSING_FOR
    event_ids = {e.id for e in outbox(uow_factory)}
    # review.opened, review.claimed and review.resolved for each case.
    assert len(event_ids) == EVENTS_PER_CASE * CASES

    receiver = None
    rng = random.Random(5)
    seen_while_down: list[webhooks.EventView] = []
    try:
        with httpx.Client(timeout=2.0) as http:
            for _ in range(MAX_ROUNDS):
                if receiver is None and clock.now >= listen_at:
                    receiver = Receiver(port, clock, up_at=up_at)
                webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock, rng=rng)
                pending = [e for e in outbox(uow_factory) if e.status == "pending"]
                if clock.now < up_at:
                    seen_while_down.extend(pending)
                if not pending:
                    break
                # The worker sleeps until the next event falls due.
                clock.now = max(clock.now, min(e.next_attempt_at for e in pending))
    finally:
        if receiver is not None:
            receiver.stop()

    # Meanwhile the outbox showed every event waiting, with its error and its next try.
    assert {e.id for e in seen_while_down} == event_ids
    assert all(e.last_error and e.next_attempt_at > e.last_attempt_at for e in seen_while_down)
    errors = {e.last_error.split(":")[0] for e in seen_while_down}
    assert "ConnectError" in errors and "receiver answered HTTP 503" in errors

    # Afterwards: all delivered, each processed once, every request correctly signed.
    final = outbox(uow_factory)
    assert {e.status for e in final} == {"delivered"}
    assert all(e.delivered_at >= up_at and e.attempts > 3 for e in final)
    assert receiver is not None and receiver.processed == dict.fromkeys(event_ids, 1)
    assert all(r["signed"] for r in receiver.requests)
    assert {json.loads(r["body"])["data"]["review_id"] for r in receiver.requests} == set(case_ids)
    accepted = [r for r in receiver.requests if r["at"] >= up_at]
    # The one lost answer was delivered again.
    assert len(accepted) == EVENTS_PER_CASE * CASES + 1
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(WebhookEvent)) == (
            EVENTS_PER_CASE * CASES
        )
