"""The webhook outbox: events written in the transaction of the change they report.

Writing the event with the change means it can never be lost between the two; the
delivery worker in ``scoring.service.webhooks`` posts what is due from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.storage.tables_reviews import WebhookEvent, WebhookSubscription


class WebhookOutbox:
    """The outbox of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self,
        *,
        client_ids: Iterable[str],
        event_type: str,
        review_case_id: str | None,
        data: dict[str, Any],
        now: datetime,
    ) -> list[str]:
        """Put one event per active subscription of the clients in the outbox; returns the ids."""
        ids = []
        rows = self.session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.client_id.in_(list(client_ids)),
                WebhookSubscription.active.is_(True),
            )
        )
        for subscription in rows:
            event_id = str(uuid.uuid4())
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
                        "data": data,
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
