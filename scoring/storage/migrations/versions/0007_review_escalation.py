"""Review escalation: who escalated a case to the senior reviewers, when, and their note.

Revision ID: 0007_review_escalation
Revises: 0006_default_reporting
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_review_escalation"
down_revision: str | None = "0006_default_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("review_case_progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_by", _ID, nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalation_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_review_case_progress_escalated_by_users"),
            "users",
            ["escalated_by"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("review_case_progress", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_review_case_progress_escalated_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("escalation_note")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalated_by")
