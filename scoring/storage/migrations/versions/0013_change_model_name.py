"""Change requests name the registered model they promote (a user's model is not the product's).

Revision ID: 0013_change_model_name
Revises: 0012_customer_explanation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_change_model_name"
down_revision: str | None = "0012_customer_explanation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL on rows recorded before: those promoted the product's own model, installment-pd.
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_name", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_column("model_name")
