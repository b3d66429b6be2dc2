"""Review outcomes reach the sales system by signed webhook, retried until the receiver is up."""

from __future__ import annotations

import json
import random
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from scoring.service import reviews, webhooks

WHY = "Bank statements show both invoices were paid on their due dates."
SECRET = "a-shared-secret-of-the-sales-system"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """The sales system's endpoint: verifies signatures and de-duplicates by event id."""

    def __init__(self, port: int, clock) -> None:
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = webhooks.verify_signature(
                    secret=SECRET,
                    header=self.headers[webhooks.SIGNATURE_HEADER],
                    body=body,
                    now=clock(),
                )
                event = json.loads(body)
                receiver.requests.append({"signed": ok, "event_id": event["id"]})
                if ok:
                    receiver.accepted.setdefault(self.headers[webhooks.EVENT_ID_HEADER], event)
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_resolution_is_delivered_once_after_the_receiver_comes_up(
    uow_factory, clock, make_decision, people
):
    port = free_port()
    decision_id = make_decision()
    webhooks.add_subscription(
        uow=uow_factory(),
        client="sales-system",
        url=f"http://127.0.0.1:{port}/installment-events",
        secret=SECRET,
        clock=clock,
    )
    case = reviews.contest_decision(
        uow=uow_factory(),
        decision_id=decision_id,
        client="sales-system",
        statement="Please review.",
        clock=clock,
    )
    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    done = reviews.decide_case(
        uow=uow_factory(),
        case_id=case.id,
        reviewer=people.anna,
        outcome="overturned",
        justification=WHY,
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
