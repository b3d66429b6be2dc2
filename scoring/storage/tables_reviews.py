"""Stored records of the review workflow beyond ``review_cases``: case progress, skips, webhooks.

``review_cases`` (in ``tables``) holds the case and its deadline; these tables hold what
the queue and the sales system's notifications need on top, so the shared table stays
as it was migrated.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scoring.storage.sealed import SealedString
from scoring.storage.tables import Base, BigId

WEBHOOK_EVENT_STATUSES = ("pending", "delivered")


class ReviewCaseProgress(Base):
    """Per case: who asked, what they attached, who escalated it, who proposed which outcome."""

    __tablename__ = "review_case_progress"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("review_cases.id", ondelete="CASCADE"), primary_key=True
    )
    # The API client that opened the case; null for cases the decision service opened.
    opened_by_client_id: Mapped[str | None] = mapped_column(ForeignKey("api_clients.id"))
    # Attachment metadata only (name, content type, size): never the files themselves.
    attachments: Mapped[list[Any]]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    new_amount_eur: Mapped[Decimal | None]
    new_term_months: Mapped[int | None] = mapped_column(Integer)
    # Set when a senior reviewer sent a proposal back instead of signing it.
    second_signature_refused_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when the holder escalated the case: from then on only another senior may claim it.
    escalated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[datetime | None]
    escalation_note: Mapped[str | None] = mapped_column(Text)
    # What the customer's outcome letter says of the reviewer's reasons, in each language;
    # the justification stays internal and no customer text quotes it.
    customer_explanation_et: Mapped[str | None] = mapped_column(Text)
    customer_explanation_en: Mapped[str | None] = mapped_column(Text)


class ReviewSkip(Base):
    """A reviewer's "skip for now": the case is not offered to them again until ``until``."""

    __tablename__ = "review_skips"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("review_cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    until: Mapped[datetime] = mapped_column(index=True)


class WebhookSubscription(Base):
    """Where a client wants review outcomes posted, with the secret that signs them."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(500))
    # The shared secret must be readable to sign with, so it is sealed, not hashed; it is
    # loaded (and opened) only where a delivery is signed.
    secret: Mapped[str] = mapped_column(SealedString(), deferred=True)
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookEvent(Base):
    """One event for one subscription: the outbox row and its delivery state.

    Written in the same transaction as the change it reports, so an outcome is never
    decided without its notification; the id is the event id receivers de-duplicate by.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in WEBHOOK_EVENT_STATUSES) + ")",
            name="status",
        ),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(50))
    review_case_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # A worker holds an event while it posts it; a crashed worker's hold lapses.
    locked_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None]
