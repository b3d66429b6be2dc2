"""The webhook outbox: subscriptions, and events written in the transaction of the change
they report.

Writing the event with the change means it can never be lost between the two; the
delivery worker in ``scoring.service.webhooks`` posts what is due from here. Each event
is held by one worker at a time: the next due event is picked with ``SKIP LOCKED`` on
PostgreSQL and under the database write lock on SQLite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from scoring.storage.tables import ApiClient
from scoring.storage.tables_reviews import WebhookEvent, WebhookSubscription
from scoring.storage.write_turn import is_postgres, take_write_lock


class WebhookOutbox:
    """The subscriptions and the outbox, in one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Subscriptions.

    def api_client(self, client: str) -> ApiClient | None:
        """An API client by id, or else by name."""
        return self.session.get(ApiClient, client) or self.session.scalar(
            select(ApiClient).where(ApiClient.name == client)
        )

    def add_subscription(self, subscription: WebhookSubscription) -> None:
        """Store a new subscription (its id is set when this returns)."""
        self.session.add(subscription)
        self.session.flush()

    def subscription(self, subscription_id: int) -> WebhookSubscription | None:
        """A subscription by id."""
        return self.session.get(WebhookSubscription, subscription_id)

    def subscriptions(self) -> list[WebhookSubscription]:
        """All subscriptions, newest first."""
        return list(
            self.session.scalars(
                select(WebhookSubscription).order_by(WebhookSubscription.id.desc())
            )
        )

    # Events.

    def enqueue(
        self,
        *,
        client_ids: Iterable[str],
        event_type: str,
        review_case_id: str | None,
        data: dict[str, Any],
        now: datetime,
        opens_case: bool = False,
    ) -> list[str]:
        """Put one event per active subscription of the clients in the outbox; returns the ids.

        An event about a review case carries ``sequence`` in its data: 1 for the first event
        of the case a subscription gets, one more for each after. Delivery is at least once
        and a retried event may arrive after a later one, so a receiver orders by it. The
        caller holds the case's lock, so two events of one case never get the same number.
        """
        ids = []
        rows = list(
            self.session.scalars(
                select(WebhookSubscription).where(
                    WebhookSubscription.client_id.in_(list(client_ids)),
                    WebhookSubscription.active.is_(True),
                )
            )
        )
        sent: dict[int, int] = {}
        if rows and review_case_id is not None and not opens_case:
            sent = {
                subscription_id: count
                for subscription_id, count in self.session.execute(
                    select(WebhookEvent.subscription_id, func.count())
                    .where(WebhookEvent.review_case_id == review_case_id)
                    .group_by(WebhookEvent.subscription_id)
                )
            }
        for subscription in rows:
            event_id = str(uuid.uuid4())
            sequence = sent.get(subscription.id, 0) + 1
            self.session.add(
                WebhookEvent(
                    id=event_id,
                    subscription_id=subscription.id,
                    event_type=event_type,
                    review_case_id=review_case_id,
                    payload={
                        "id": event_id,
                        "type": event_type,
                        "created_at": now.astimezone(UTC).isoformat(),
                        "data": (
                            {**data, "sequence": sequence} if review_case_id is not None else data
                        ),
                    },
                    created_at=now,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
            ids.append(event_id)
        self.session.flush()
        return ids

    def events(
        self, *, review_case_id: str | None, pending_only: bool, limit: int
    ) -> list[tuple[WebhookEvent, str]]:
        """Events with their subscription's URL, newest first."""
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
        return [(event, url) for event, url in self.session.execute(query)]

    def hold_next_due(
        self, *, due_by: datetime, now: datetime, hold_until: datetime
    ) -> tuple[WebhookEvent, WebhookSubscription] | None:
        """Hold the next event due by ``due_by`` (none held by a live worker) until ``hold_until``.

        On SQLite an idle worker only reads: the work so far is committed after the check,
        and the write lock is taken when there is work, in a transaction of its own (a read
        transaction cannot wait for SQLite's write lock).
        """
        due = and_(
            WebhookEvent.status == "pending",
            WebhookEvent.next_attempt_at <= due_by,
            or_(WebhookEvent.locked_until.is_(None), WebhookEvent.locked_until < now),
        )
        postgres = is_postgres(self.session)
        if not postgres:
            idle = not self.session.scalar(select(exists().where(due)))
            self.session.commit()
            if idle:
                return None
        take_write_lock(self.session)
        query = (
            select(WebhookEvent, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookEvent.subscription_id)
            .where(due)
            .order_by(WebhookEvent.next_attempt_at, WebhookEvent.created_at)
            .limit(1)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True, of=WebhookEvent)
        row = self.session.execute(query).first()
        if row is None:
            return None
        event, subscription = row
        event.locked_until = hold_until
        return event, subscription

    def lock_event(self, event_id: str) -> WebhookEvent | None:
        """An event to record a delivery attempt on, locked (row or write lock)."""
        take_write_lock(self.session)
        return self.session.get(WebhookEvent, event_id, with_for_update=True)
