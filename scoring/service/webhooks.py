"""Webhooks to the sales system: subscriptions, the outbox, signed delivery with retries.

An event is written to the outbox (``webhook_events``) in the same transaction as the
change it reports, so it can never be lost between the two. A delivery worker posts due
events as JSON signed with HMAC-SHA256 over ``"<timestamp>.<body>"``; a failure is
retried with exponential backoff and jitter, and its attempts, last error and next try
stay in the database for the reviewer UI. Receivers de-duplicate by the event id (the
``Installment-Event-Id`` header and the ``id`` in the body): delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from scoring.domain.errors import InvalidInputError
from scoring.service.errors import ServiceError
from scoring.storage.db import UnitOfWork
from scoring.storage.tables_reviews import WebhookSubscription
from scoring.storage.webhook_outbox import WebhookOutbox

Clock = Callable[[], datetime]
SIGNATURE_HEADER = "Installment-Signature"
EVENT_ID_HEADER = "Installment-Event-Id"
EVENT_TYPE_HEADER = "Installment-Event-Type"
# Receivers should refuse signatures older than this, so a captured request cannot be replayed.
SIGNATURE_TOLERANCE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
# While a worker posts an event it holds it this long; a crashed worker's hold lapses.
DELIVERY_HOLD = timedelta(seconds=60)
REQUEST_TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 500

_log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookError(ServiceError, InvalidInputError):
    """A webhook subscription request cannot be carried out."""

    code = "webhook_error"


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    client_id: str
    url: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class NewSubscription:
    """A subscription just created; ``secret`` is shown once to share with the receiver."""

    subscription: SubscriptionView
    secret: str


@dataclass(frozen=True)
class EventView:
    """One outbox event and how its delivery is going."""

    id: str
    subscription_id: int
    url: str
    event_type: str
    review_case_id: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryRound:
    """What one pass of the delivery worker did."""

    delivered: int
    failed: int

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed


# Subscriptions.


def add_subscription(
    *,
    uow: UnitOfWork,
    client: str,
    url: str,
    secret: str | None = None,
    clock: Clock = utc_now,
) -> NewSubscription:
    """Register a URL that receives the client's review events, signed with a shared secret."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WebhookError(f"webhook URL {url!r} is not an http(s) URL", field="url")
    if secret is not None and len(secret) < 16:
        raise WebhookError("a shared secret needs at least 16 characters", field="secret")
    secret = secret or secrets.token_urlsafe(32)
    now = clock()
    with uow:
        outbox = uow.webhook_outbox
        row = outbox.api_client(client)
        if row is None:
            raise WebhookError(
                f"no API client {client!r}; issue the client an API key first, "
                "then add its webhook",
                field="client",
            )
        subscription = WebhookSubscription(
            client_id=row.id, url=url, secret=secret, created_at=now, active=True
        )
        outbox.add_subscription(subscription)
        view = _subscription_view(subscription)
    return NewSubscription(view, secret)


def deactivate_subscription(*, uow: UnitOfWork, subscription_id: int) -> SubscriptionView:
    """Stop sending new events to a subscription; events already queued are still delivered."""
    with uow:
        row = uow.webhook_outbox.subscription(subscription_id)
        if row is None:
            raise WebhookError(f"no webhook subscription {subscription_id}", field="id")
        row.active = False
        return _subscription_view(row)


def subscriptions(*, session: Session) -> list[SubscriptionView]:
    """All subscriptions, newest first."""
    return [_subscription_view(row) for row in WebhookOutbox(session).subscriptions()]


def _subscription_view(row: WebhookSubscription) -> SubscriptionView:
    return SubscriptionView(row.id, row.client_id, row.url, row.active, row.created_at)


# The outbox.


def enqueue(
    *,
    session: Session,
    client_ids: Iterable[str],
    event_type: str,
    review_case_id: str | None,
    data: dict[str, Any],
    now: datetime,
) -> list[str]:
    """Put one event per active subscription of the clients into the outbox; returns the ids."""
    return WebhookOutbox(session).enqueue(
        client_ids=client_ids,
        event_type=event_type,
        review_case_id=review_case_id,
        data=data,
        now=now,
    )


def events(
    *,
    session: Session,
    review_case_id: str | None = None,
    pending_only: bool = False,
    limit: int = 200,
) -> list[EventView]:
    """Outbox events with their delivery state, newest first (for the UI and the CLI)."""
    rows = WebhookOutbox(session).events(
        review_case_id=review_case_id, pending_only=pending_only, limit=limit
    )
    return [
        EventView(
            id=event.id,
            subscription_id=event.subscription_id,
            url=url,
            event_type=event.event_type,
            review_case_id=event.review_case_id,
            status=event.status,
            attempts=event.attempts,
            created_at=event.created_at,
            next_attempt_at=event.next_attempt_at if event.status == "pending" else None,
            last_attempt_at=event.last_attempt_at,
            last_error=event.last_error,
            last_status_code=event.last_status_code,
            delivered_at=event.delivered_at,
        )
        for event, url in rows
    ]


# Signing.


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(*, secret: str, header: str, body: bytes, now: datetime) -> bool:
    """What a receiver checks: the signature matches the body and is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > SIGNATURE_TOLERANCE.total_seconds():
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


# Delivery.


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter over its upper half, capped at an hour."""
    ceiling = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    share = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=ceiling.total_seconds() * share)


@dataclass(frozen=True)
class _Job:
    event_id: str
    url: str
    secret: str
    event_type: str
    body: bytes
    # The hold this worker set; the result is recorded only while the event still has it.
    held_until: datetime


def _take_next(uow: UnitOfWork, *, due_by: datetime, now: datetime) -> _Job | None:
    """Hold the next event due by ``due_by`` for this worker, committed before it is posted.

    One event per hold: a hold taken for a whole batch could lapse while its last events
    still wait their turn, and another worker would post them a second time.
    """
    held_until = now + DELIVERY_HOLD
    with uow:
        held = uow.webhook_outbox.hold_next_due(due_by=due_by, now=now, hold_until=held_until)
        if held is None:
            return None
        event, subscription = held
        body = json.dumps(event.payload, sort_keys=True, separators=(",", ":")).encode()
        return _Job(
            event.id,
            subscription.url,
            subscription.secret,
            event.event_type,
            body,
            held_until,
        )


def _post(client: httpx.Client, job: _Job, *, now: datetime) -> tuple[int | None, str | None]:
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret=job.secret, timestamp=int(now.timestamp()), body=job.body),
        EVENT_ID_HEADER: job.event_id,
        EVENT_TYPE_HEADER: job.event_type,
    }
    try:
        response = client.post(job.url, content=job.body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"receiver answered HTTP {response.status_code}"


def _record_attempt(
    uow: UnitOfWork,
    job: _Job,
    *,
    status_code: int | None,
    error: str | None,
    finished: datetime,
    rng: random.Random | None,
) -> bool:
    """Store how the post went; False when the hold had lapsed and another worker took over."""
    with uow:
        event = uow.webhook_outbox.lock_event(job.event_id)
        if event is None or event.status != "pending" or event.locked_until != job.held_until:
            return False
        event.attempts += 1
        event.last_attempt_at = finished
        event.last_status_code = status_code
        event.locked_until = None
        if error is None:
            event.status = "delivered"
            event.delivered_at = finished
            event.last_error = None
        else:
            event.last_error = error
            event.next_attempt_at = finished + retry_delay(event.attempts, rng=rng)
        return True


def deliver_due(
    *,
    uow_factory: Callable[[], UnitOfWork],
    http: httpx.Client,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    batch: int = 50,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryRound:
    """Post every event due now (up to ``batch``) once; record success, or the error and retry."""
    due_by = clock()
    delivered = failed = 0
    for _ in range(batch):
        if should_stop():
            break
        job = _take_next(uow_factory(), due_by=due_by, now=clock())
        if job is None:
            break
        status_code, error = _post(http, job, now=clock())
        recorded = _record_attempt(
            uow_factory(), job, status_code=status_code, error=error, finished=clock(), rng=rng
        )
        if recorded and error is None:
            delivered += 1
        elif recorded:
            failed += 1
    return DeliveryRound(delivered=delivered, failed=failed)


def run_worker(
    *,
    uow_factory: Callable[[], UnitOfWork],
    interval_s: float = 2.0,
    stop: threading.Event | None = None,
    on_round: Callable[[DeliveryRound], None] | None = None,
    clock: Clock = utc_now,
) -> None:
    """Deliver due events until ``stop`` is set, pausing ``interval_s`` when idle.

    A round that fails (the database unreachable, say) is logged and tried again after the
    pause, so a passing outage does not end delivery for the life of the process.
    """
    stop = stop or threading.Event()
    with httpx.Client(timeout=REQUEST_TIMEOUT_S, follow_redirects=False) as http:
        while not stop.is_set():
            try:
                result = deliver_due(
                    uow_factory=uow_factory, http=http, clock=clock, should_stop=stop.is_set
                )
            except Exception as error:  # any failure: log it and keep delivering
                _log.warning("webhook delivery round failed: %s", _first_line(error))
                result = DeliveryRound(delivered=0, failed=0)
            if on_round is not None and result.attempted:
                on_round(result)
            if not result.attempted:
                stop.wait(interval_s)


def _first_line(error: BaseException) -> str:
    # SQL errors carry the statement and its parameters on later lines; the first says enough.
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:MAX_ERROR_CHARS]


class DeliveryWorker:
    """The delivery worker on a background thread of a serving process, at most one per process.

    Several processes (API replicas) may each run one on the same database: each event is
    held by one worker at a time (``SKIP LOCKED`` on PostgreSQL, the write lock on SQLite),
    so no two workers post it at once.
    """

    # One per process: the worker running now, guarded by the lock.
    _slot: ClassVar[threading.Lock] = threading.Lock()
    _running: ClassVar[DeliveryWorker | None] = None

    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        interval_s: float = 2.0,
        clock: Clock = utc_now,
        on_round: Callable[[DeliveryRound], None] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.interval_s = interval_s
        self.clock = clock
        self.on_round = on_round
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DeliveryWorker:
        """Start delivering; refused when this process already runs a delivery worker."""
        if self._thread is not None:
            raise WebhookError("a delivery worker starts once; create a new one to start again")
        with DeliveryWorker._slot:
            if DeliveryWorker._running is not None:
                raise WebhookError("this process already runs a webhook delivery worker")
            DeliveryWorker._running = self
        self._thread = threading.Thread(
            target=run_worker,
            kwargs={
                "uow_factory": self.uow_factory,
                "interval_s": self.interval_s,
                "stop": self._stop,
                "on_round": self.on_round,
                "clock": self.clock,
            },
            name="webhook-delivery",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, *, timeout_s: float = REQUEST_TIMEOUT_S + 5) -> None:
        """Stop after the event being posted, if any; stopping twice is harmless."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with DeliveryWorker._slot:
            if DeliveryWorker._running is self:
                DeliveryWorker._running = None
