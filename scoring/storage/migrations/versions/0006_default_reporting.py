"""Default reporting: verifications, disputes, debtor notices, report runs and lines, vault.

Revision ID: 0006_default_reporting
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_default_reporting"
down_revision: str | None = "0005_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
        name=op.f(f"fk_{table}_customer_id_customers"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "default_verifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("verified_by", sa.String(length=100), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        _customer_fk("default_verifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_verifications")),
        sa.UniqueConstraint(
            "customer_id",
            "started_on",
            name=op.f("uq_default_verifications_customer_id_started_on"),
        ),
    )
    op.create_table(
        "default_disputes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('rejected', 'accepted')",
            name=op.f("ck_default_disputes_resolution"),
        ),
        sa.CheckConstraint(
            "(resolution IS NULL) = (resolved_at IS NULL AND resolved_by IS NULL)",
            name=op.f("ck_default_disputes_resolved_has_who_and_when"),
        ),
        _customer_fk("default_disputes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_disputes")),
    )
    op.create_index(
        op.f("ix_default_disputes_customer_id_started_on"),
        "default_disputes",
        ["customer_id", "started_on"],
    )
    op.create_table(
        "default_notices",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _customer_fk("default_notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_notices")),
    )
    op.create_index(
        op.f("ix_default_notices_customer_id_started_on"),
        "default_notices",
        ["customer_id", "started_on"],
    )
    op.create_table(
        "default_report_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("new_count", sa.Integer(), nullable=False),
        sa.Column("correction_count", sa.Integer(), nullable=False),
        sa.Column("removal_count", sa.Integer(), nullable=False),
        sa.Column("held_back_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "new_count >= 0 AND correction_count >= 0 AND removal_count >= 0 "
            "AND held_back_count >= 0",
            name=op.f("ck_default_report_runs_counts_non_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_report_runs")),
        sa.UniqueConstraint("as_of", name=op.f("uq_default_report_runs_as_of")),
    )
    op.create_table(
        "default_report_lines",
        sa.Column("id", _ID, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("transaction_type", sa.String(length=20), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "transaction_type IN ('new', 'correction', 'removal')",
            name=op.f("ck_default_report_lines_transaction_type"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_default_report_lines_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["default_report_runs.id"],
            name=op.f("fk_default_report_lines_run_id_default_report_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_report_lines")),
        sa.UniqueConstraint(
            "run_id",
            "pseudonym",
            "started_on",
            name=op.f("uq_default_report_lines_run_id_pseudonym_started_on"),
        ),
    )
    op.create_index(
        op.f("ix_default_report_lines_pseudonym_started_on"),
        "default_report_lines",
        ["pseudonym", "started_on"],
    )
    op.create_table(
        "identity_vault",
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_identity_vault")),
    )


def downgrade() -> None:
    op.drop_table("identity_vault")
    op.drop_index(
        op.f("ix_default_report_lines_pseudonym_started_on"), table_name="default_report_lines"
    )
    op.drop_table("default_report_lines")
    op.drop_table("default_report_runs")
    op.drop_index(op.f("ix_default_notices_customer_id_started_on"), table_name="default_notices")
    op.drop_table("default_notices")
    op.drop_index(op.f("ix_default_disputes_customer_id_started_on"), table_name="default_disputes")
    op.drop_table("default_disputes")
    op.drop_table("default_verifications")
