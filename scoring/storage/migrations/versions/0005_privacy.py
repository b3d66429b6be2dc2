"""Privacy: tombstones of decisions removed by the retention sweep or an erasure.

Revision ID: 0005_privacy
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_privacy"
down_revision: str | None = "0004_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "removed_decisions",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_removed_decisions")),
    )


def downgrade() -> None:
    op.drop_table("removed_decisions")
