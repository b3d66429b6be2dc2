"""The reviewer's explanation for the customer, in Estonian and English, kept apart from the
internal justification.

Revision ID: 0012_customer_explanation
Revises: 0011_security_hardening
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_customer_explanation"
down_revision: str | None = "0011_security_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_case_progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_explanation_et", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("customer_explanation_en", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_case_progress", schema=None) as batch_op:
        batch_op.drop_column("customer_explanation_en")
        batch_op.drop_column("customer_explanation_et")
