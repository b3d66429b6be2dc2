"""Change control: change requests (four eyes), the automation stop switch, the risk roles.

Revision ID: 0010_change_control
Revises: 0009_referral_cases
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_change_control"
down_revision: str | None = "0009_referral_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_ROLES = "role IN ('reviewer', 'senior_reviewer', 'auditor', 'admin')"
_NEW_ROLES = (
    "role IN ('reviewer', 'senior_reviewer', 'auditor', 'admin', "
    "'risk_analyst', 'risk_approver', 'oversight')"
)


def upgrade() -> None:
    op.create_table(
        "change_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=True),
        sa.Column("policy_version", sa.String(length=32), nullable=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaces_version", sa.String(length=32), nullable=True),
        sa.Column("proposed_by", _ID, nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('champion', 'rollback', 'policy')", name=op.f("ck_change_requests_kind")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'refused', 'adopted')",
            name=op.f("ck_change_requests_status"),
        ),
        sa.CheckConstraint(
            "(kind = 'policy' AND policy_version IS NOT NULL AND effective_from IS NOT NULL)"
            " OR (kind <> 'policy' AND model_version IS NOT NULL)",
            name=op.f("ck_change_requests_subject"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed') OR decided_at IS NOT NULL",
            name=op.f("ck_change_requests_decided_at"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_change_requests_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["users.id"], name=op.f("fk_change_requests_proposed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    op.create_index("ix_change_requests_kind_status", "change_requests", ["kind", "status"])
    op.create_table(
        "automation_switch_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("automated_decisions", sa.Boolean(), nullable=False),
        sa.Column("changed_by", _ID, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_automation_switch_events_changed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_switch_events")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", _NEW_ROLES)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", _OLD_ROLES)
    op.drop_table("automation_switch_events")
    op.drop_index("ix_change_requests_kind_status", table_name="change_requests")
    op.drop_table("change_requests")
