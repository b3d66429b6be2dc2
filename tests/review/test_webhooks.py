"""Review outcomes reach the sales system by signed webhook, retried until the receiver is up."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
import review_cases
from webhook_receiver import SECRET, Receiver, free_port

from scoring.service import reviews, webhooks

# What the customer's letter says of the outcome (the justification stays internal).
EXPLAIN_ET = "Teie maksete ajalugu ei toeta seda järelmaksu."
EXPLAIN_EN = "Your payment history does not support this plan."

WHY = "Bank statements show both invoices were paid on their due dates."


def test_a_resolution_is_delivered_once_after_the_receiver_comes_up(
    uow_factory, clock, make_decision, people
):
    port = free_port()
    decision_id = make_decision()
    case = reviews.contest_decision(
        uow=uow_factory(),
        decision_id=decision_id,
        client="sales-system",
        statement="Please review.",
        clock=clock,
    )
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    # Subscribed once the case is claimed: the one event to deliver is its resolution.
    webhooks.add_subscription(
        uow=uow_factory(),
        client="sales-system",
        url=f"http://127.0.0.1:{port}/installment-events",
        secret=SECRET,
        clock=clock,
    )
    done = reviews.decide_case(
        uow=uow_factory(),
        case_id=case.id,
        reviewer=people.anna,
        outcome="overturned",
        justification=WHY,
        customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN,
        clock=clock,
    )
    rng = random.Random(7)
    with httpx.Client(timeout=2.0) as http:
        # The receiver is down: the attempt fails and is kept with its error and next try.
        first = webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock, rng=rng)
        assert (first.delivered, first.failed) == (0, 1)
        with uow_factory() as uow:
            (event,) = webhooks.events(session=uow.session, review_case_id=case.id)
        assert event.status == "pending" and event.attempts == 1
        assert "ConnectError" in event.last_error
        assert event.next_attempt_at > clock()
        # Not due yet: nothing is tried again.
        assert webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock).attempted == 0

        receiver = Receiver(port, clock)
        try:
            clock.now = event.next_attempt_at
            second = webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock, rng=rng)
            clock.advance(hours=2)
            third = webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock, rng=rng)
        finally:
            receiver.stop()
    assert (second.delivered, third.attempted) == (1, 0)
    assert receiver.requests == [{"signed": True, "event_id": event.id}]
    delivered = receiver.accepted[event.id]
    assert delivered["type"] == "review.resolved"
    assert delivered["data"]["review_id"] == case.id
    assert delivered["data"]["resulting_decision_id"] == done.resulting_decision_id
    assert delivered["data"]["resulting_outcome"] == "approve"
    with uow_factory() as uow:
        (event,) = webhooks.events(session=uow.session, review_case_id=case.id)
    assert (event.status, event.attempts, event.last_error) == ("delivered", 2, None)


def test_a_signature_fails_for_another_body_secret_or_an_old_timestamp():
    now = datetime(2027, 2, 1, tzinfo=UTC)
    body = b'{"id":"e1"}'
    header = webhooks.sign(secret=SECRET, timestamp=int(now.timestamp()), body=body)
    assert webhooks.verify_signature(secret=SECRET, header=header, body=body, now=now)
    assert not webhooks.verify_signature(secret=SECRET, header=header, body=b"{}", now=now)
    assert not webhooks.verify_signature(
        secret="another-secret-value", header=header, body=body, now=now
    )
    late = now.replace(minute=6)
    assert not webhooks.verify_signature(secret=SECRET, header=header, body=body, now=late)
    assert not webhooks.verify_signature(secret=SECRET, header="garbage", body=body, now=now)


def test_retries_back_off_exponentially_with_jitter_up_to_an_hour():
    rng = random.Random(1)
    delays = [webhooks.retry_delay(n, rng=rng).total_seconds() for n in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(10 * 2 ** (attempt - 1), 3600)
        assert ceiling / 2 <= delay <= ceiling


def test_a_subscription_needs_a_known_client_and_an_http_url(uow_factory, clock):
    with pytest.raises(webhooks.WebhookError, match="no API client 'nobody'"):
        webhooks.add_subscription(
            uow=uow_factory(), client="nobody", url="http://127.0.0.1:1/x", clock=clock
        )
    with pytest.raises(webhooks.WebhookError, match="is not an http"):
        webhooks.add_subscription(uow=uow_factory(), client="x", url="ftp://host/x", clock=clock)


def resolved_cases(
    uow_factory, clock, make_decision, people, count: int, *, subscribe: Callable[[], object]
) -> list[str]:
    """``count`` contested cases upheld by anna, each leaving one event in the outbox.

    The cases are opened and claimed before ``subscribe`` runs, so only their resolutions
    are sent.
    """
    opened = [
        reviews.contest_decision(
            uow=uow_factory(),
            decision_id=make_decision(),
            client="sales-system",
            statement="Please review.",
            clock=clock,
        )
        for _ in range(count)
    ]
    for case in opened:
        reviews.claim_case(uow=uow_factory(), case_id=case.id, reviewer=people.anna, clock=clock)
    subscribe()
    ids = []
    for case in opened:
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
        ids.append(case.id)
    return ids


def subscribe(uow_factory, clock, port: int) -> None:
    with uow_factory() as uow:
        review_cases.client(uow.session)
    webhooks.add_subscription(
        uow=uow_factory(),
        client="sales-system",
        url=f"http://127.0.0.1:{port}/installment-events",
        secret=SECRET,
        clock=clock,
    )


def test_two_workers_at_once_post_every_event_exactly_once(
    uow_factory, clock, make_decision, people
):
    port = free_port()
    resolved_cases(
        uow_factory,
        clock,
        make_decision,
        people,
        12,
        subscribe=lambda: subscribe(uow_factory, clock, port),
    )
    receiver = Receiver(port, clock)
    start = threading.Barrier(2)
    rounds: list[webhooks.DeliveryRound] = []

    def worker() -> None:
        start.wait()
        with httpx.Client(timeout=5.0) as http:
            rounds.append(webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock))

    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        receiver.stop()
    posted = [r["event_id"] for r in receiver.requests]
    assert len(posted) == len(set(posted)) == 12
    assert sum(r.delivered for r in rounds) == 12
    with uow_factory() as uow:
        assert {e.status for e in webhooks.events(session=uow.session)} == {"delivered"}


def test_a_worker_kept_waiting_by_a_slow_receiver_never_sends_an_event_twice(
    uow_factory, clock, make_decision, people
):
    """While one worker waits on a slow receiver, another process's worker runs.

    The receiver keeps the first worker waiting 45 seconds on each of its first two events.
    During the second wait, 90 seconds after the first worker began (past the 60-second
    hold a batch would have had), a second worker delivers what is left. Events are held
    one at a time, so it takes only the event nobody holds.
    """
    port = free_port()
    resolved_cases(
        uow_factory,
        clock,
        make_decision,
        people,
        3,
        subscribe=lambda: subscribe(uow_factory, clock, port),
    )
    calls = itertools.count()
    second_rounds: list[webhooks.DeliveryRound] = []

    def slow_answer(_received: int) -> None:
        call = next(calls)
        if call < 2:
            clock.advance(seconds=45)
        if call == 1:
            with httpx.Client(timeout=5.0) as http:
                second_rounds.append(
                    webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock)
                )

    receiver = Receiver(port, clock, on_request=slow_answer)
    try:
        with httpx.Client(timeout=10.0) as http:
            first = webhooks.deliver_due(uow_factory=uow_factory, http=http, clock=clock)
    finally:
        receiver.stop()
    posted = [r["event_id"] for r in receiver.requests]
    assert len(posted) == len(set(posted)) == 3
    assert (first.delivered, second_rounds[0].delivered) == (2, 1)
    with uow_factory() as uow:
        events = webhooks.events(session=uow.session)
    assert {(e.status, e.attempts) for e in events} == {("delivered", 1)}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_background_worker_delivers_stops_on_request_and_runs_once_per_process(
    uow_factory, clock, make_decision, people
):
    port = free_port()
    (case_id,) = resolved_cases(
        uow_factory,
        clock,
        make_decision,
        people,
        1,
        subscribe=lambda: subscribe(uow_factory, clock, port),
    )
    receiver = Receiver(port, clock)
    worker = webhooks.DeliveryWorker(uow_factory=uow_factory, interval_s=0.05, clock=clock)
    try:
        worker.start()
        with pytest.raises(webhooks.WebhookError, match="already runs a webhook delivery worker"):
            webhooks.DeliveryWorker(uow_factory=uow_factory, clock=clock).start()
        deadline = time.monotonic() + 10
        while not receiver.accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        stopping = time.monotonic()
        worker.stop()
        assert not worker.running
        assert time.monotonic() - stopping < 2
    finally:
        worker.stop()
        receiver.stop()
    (event,) = receiver.accepted.values()
    assert event["data"]["review_id"] == case_id
    # Stopped, the process may start a worker again.
    again = webhooks.DeliveryWorker(uow_factory=uow_factory, interval_s=0.05, clock=clock)
    again.start()
    again.stop()
