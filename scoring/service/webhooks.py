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
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from scoring.service.errors import ServiceError
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import ApiClient
from scoring.storage.tables_reviews import WebhookEvent, WebhookSubscription

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


def utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookError(ServiceError):
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
        session = uow.session
        row = session.get(ApiClient, client) or session.scalar(
            select(ApiClient).where(ApiClient.name == client)
        )
        if row is None:
            raise WebhookError(
                f"no API client {client!r}; issue the client an API key first, "
                "then add its webhook",
                field="client",
            )
        subscription = WebhookSubscription(
            client_id=row.id, url=url, secret=secret, created_at=now, active=True
        )
        session.add(subscription)
        session.flush()
        view = _subscription_view(subscription)
    return NewSubscription(view, secret)


def deactivate_subscription(*, uow: UnitOfWork, subscription_id: int) -> SubscriptionView:
    """Stop sending new events to a subscription; events already queued are still delivered."""
    with uow:
        row = uow.session.get(WebhookSubscription, subscription_id)
        if row is None:
            raise WebhookError(f"no webhook subscription {subscription_id}", field="id")
        row.active = False
        return _subscription_view(row)


def subscriptions(*, session: Session) -> list[SubscriptionView]:
    """All subscriptions, newest first."""
    rows = session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id.desc()))
    return [_subscription_view(row) for row in rows]


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
    ids = []
    rows = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.client_id.in_(list(client_ids)),
            WebhookSubscription.active.is_(True),
        )
    )
    for subscription in rows:
        event_id = str(uuid.uuid4())
        session.add(
            WebhookEvent(
                id=event_id,
                subscription_id=subscription.id,
                event_type=event_type,
                review_case_id=review_case_id,
                payload={
                    "id": event_id,
                    "type": event_type,
                    "created_at": now.astimezone(UTC).isoformat(),
                    "data": data,
                },
                created_at=now,
                status="pending",
                attempts=0,
                next_attempt_at=now,
            )
        )
        ids.append(event_id)
    session.flush()
    return ids


def events(
    *,
    session: Session,
    review_case_id: str | None = None,
    pending_only: bool = False,
    limit: int = 200,
) -> list[EventView]:
    """Outbox events with their delivery state, newest first (for the UI and the CLI)."""
    query = (
        select(WebhookEvent, WebhookSubscription.url)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookEvent.subscription_id)
        .order_by(WebhookEvent.created_at.desc(), WebhookEvent.id)
        .limit(limit)
    )
    if review_case_id is not None:
        query = query.where(WebhookEvent.review_case_id == review_case_id)
    if pending_only:
        query = query.where(WebhookEvent.status == "pending")
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
        for event, url in session.execute(query)
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


def _take_due(uow: UnitOfWork, *, now: datetime, batch: int) -> list[_Job]:
    """Hold up to ``batch`` due events for this worker, committed before any request is made."""
    with uow:
        session = uow.session
        postgres = session.get_bind().dialect.name == "postgresql"
        if not postgres:
            # Take SQLite's write lock first so two workers never pick the same events.
            session.execute(update(WebhookEvent).where(WebhookEvent.id == "").values(attempts=0))
        query = (
            select(WebhookEvent, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookEvent.subscription_id)
            .where(
                WebhookEvent.status == "pending",
                WebhookEvent.next_attempt_at <= now,
                or_(WebhookEvent.locked_until.is_(None), WebhookEvent.locked_until < now),
            )
            .order_by(WebhookEvent.next_attempt_at, WebhookEvent.created_at)
            .limit(batch)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True, of=WebhookEvent)
        jobs = []
        for event, subscription in session.execute(query):
            event.locked_until = now + DELIVERY_HOLD
            body = json.dumps(event.payload, sort_keys=True, separators=(",", ":")).encode()
            jobs.append(
                _Job(event.id, subscription.url, subscription.secret, event.event_type, body)
            )
    return jobs


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


def deliver_due(
    *,
    uow_factory: Callable[[], UnitOfWork],
    http: httpx.Client,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    batch: int = 50,
) -> DeliveryRound:
    """Post every due event once; record success, or the error and when to try again."""
    now = clock()
    jobs = _take_due(uow_factory(), now=now, batch=batch)
    delivered = failed = 0
    for job in jobs:
        status_code, error = _post(http, job, now=now)
        finished = clock()
        with uow_factory() as uow:
            event = uow.session.get(WebhookEvent, job.event_id)
            if event is None or event.status != "pending":
                continue
            event.attempts += 1
            event.last_attempt_at = finished
            event.last_status_code = status_code
            event.locked_until = None
            if error is None:
                event.status = "delivered"
                event.delivered_at = finished
                event.last_error = None
                delivered += 1
            else:
                event.last_error = error
                event.next_attempt_at = finished + retry_delay(event.attempts, rng=rng)
                failed += 1
    return DeliveryRound(delivered=delivered, failed=failed)


def run_worker(
    *,
    uow_factory: Callable[[], UnitOfWork],
    interval_s: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_round: Callable[[DeliveryRound], None] | None = None,
) -> None:
    """Deliver due events until ``should_stop`` says so, pausing ``interval_s`` when idle."""
    with httpx.Client(timeout=REQUEST_TIMEOUT_S, follow_redirects=False) as http:
        while not should_stop():
            result = deliver_due(uow_factory=uow_factory, http=http)
            if on_round is not None and result.attempted:
                on_round(result)
            if not result.attempted:
                time.sleep(interval_s)
