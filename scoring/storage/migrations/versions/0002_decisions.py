"""Decision service: the decision log's chain head and the minimised inputs of each decision.

Revision ID: 0002_decisions
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_decisions"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "decision_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_decision_log_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_log_head")),
    )
    op.create_table(
        "decision_inputs",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("base_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_inputs_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decision_inputs")),
    )
    # The head starts at the newest existing entry, so a database with a log keeps its chain.
    connection = op.get_bind()
    last = connection.execute(
        sa.text("SELECT seq, entry_hash FROM decision_log ORDER BY seq DESC LIMIT 1")
    ).first()
    op.bulk_insert(
        head,
        [{"id": 1, "seq": last[0] if last else 0, "entry_hash": last[1] if last else GENESIS_HASH}],
    )


def downgrade() -> None:
    op.drop_table("decision_inputs")
    op.drop_table("decision_log_head")
