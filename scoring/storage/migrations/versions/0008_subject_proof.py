"""Data-subject requests with proof: identity channels, spent assertions, request counters.

Revision ID: 0008_subject_proof
Revises: 0007_review_escalation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_subject_proof"
down_revision: str | None = "0007_review_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subject_channels",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_subject_channels_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_channels")),
    )
    op.create_index(
        op.f("ix_subject_channels_client_id"), "subject_channels", ["client_id"], unique=False
    )
    op.create_table(
        "used_identity_assertions",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("assertion_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "channel_id", "assertion_id", name=op.f("pk_used_identity_assertions")
        ),
    )
    op.create_index(
        op.f("ix_used_identity_assertions_expires_at"),
        "used_identity_assertions",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "request_counters",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_request_counters")),
    )


def downgrade() -> None:
    op.drop_table("request_counters")
    op.drop_index(
        op.f("ix_used_identity_assertions_expires_at"), table_name="used_identity_assertions"
    )
    op.drop_table("used_identity_assertions")
    op.drop_index(op.f("ix_subject_channels_client_id"), table_name="subject_channels")
    op.drop_table("subject_channels")
