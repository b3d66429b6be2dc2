"""Review workflow: case progress, skips, webhook subscriptions and the webhook outbox.

Revision ID: 0003_reviews
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reviews"
down_revision: str | None = "0002_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_case_progress",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("opened_by_client_id", sa.String(length=64), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_amount_eur", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("new_term_months", sa.Integer(), nullable=True),
        sa.Column("second_signature_refused_by", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["review_cases.id"],
            name=op.f("fk_review_case_progress_case_id_review_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_client_id"],
            ["api_clients.id"],
            name=op.f("fk_review_case_progress_opened_by_client_id_api_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_review_case_progress_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["second_signature_refused_by"],
            ["users.id"],
            name=op.f("fk_review_case_progress_second_signature_refused_by_users"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_review_case_progress")),
    )
    op.create_table(
        "review_skips",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["review_cases.id"],
            name=op.f("fk_review_skips_case_id_review_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_skips_user_id_users")
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_review_skips")),
    )
    op.create_index(op.f("ix_review_skips_until"), "review_skips", ["until"])
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_webhook_subscriptions_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        op.f("ix_webhook_subscriptions_client_id"), "webhook_subscriptions", ["client_id"]
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("review_case_id", sa.String(length=36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered')", name=op.f("ck_webhook_events_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_events_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_events_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        op.f("ix_webhook_events_status_next_attempt_at"),
        "webhook_events",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_webhook_events_subscription_id"), "webhook_events", ["subscription_id"]
    )
    op.create_index(op.f("ix_webhook_events_review_case_id"), "webhook_events", ["review_case_id"])


def downgrade() -> None:
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
    op.drop_table("review_skips")
    op.drop_table("review_case_progress")
