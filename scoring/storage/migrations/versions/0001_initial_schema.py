"""Initial schema: customers, payment history, bureau reports, applications, decisions, reviews.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 15:58:01.376667
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_entity_type_entity_id"),
            ["entity_type", "entity_id"],
            unique=False,
        )

    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("customer_since", sa.Date(), nullable=True),
        sa.Column("relationship_ended_on", sa.Date(), nullable=True),
        sa.Column("segment", sa.String(length=20), nullable=True),
        sa.Column("objected_to_profiling_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "segment IN ('energy', 'telecom', 'smart_home')", name=op.f("ck_customers_segment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_customers_pseudonym")),
    )
    op.create_table(
        "decision_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_decision_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_decision_log_entry_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("decision_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_log_decision_id"), ["decision_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("training_completed_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('reviewer', 'senior_reviewer', 'auditor', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.CheckConstraint("failed_logins >= 0", name=op.f("ck_users_failed_logins_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_api_keys_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_prefix", name=op.f("uq_api_keys_key_prefix")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_client_id"), ["client_id"], unique=False)

    op.create_table(
        "bureau_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("risk_class", sa.String(length=20), nullable=False),
        sa.Column("pd_band_low", sa.Float(), nullable=False),
        sa.Column("pd_band_high", sa.Float(), nullable=False),
        sa.Column("open_default_count", sa.Integer(), nullable=False),
        sa.Column("closed_default_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "risk_class IN ('very_good', 'good', 'satisfactory', 'poor')",
            name=op.f("ck_bureau_reports_risk_class"),
        ),
        sa.CheckConstraint(
            "closed_default_count >= 0",
            name=op.f("ck_bureau_reports_closed_default_count_non_negative"),
        ),
        sa.CheckConstraint(
            "open_default_count >= 0",
            name=op.f("ck_bureau_reports_open_default_count_non_negative"),
        ),
        sa.CheckConstraint(
            "pd_band_low >= 0 AND pd_band_low <= pd_band_high AND pd_band_high <= 1",
            name=op.f("ck_bureau_reports_pd_band_range"),
        ),
        sa.CheckConstraint("score BETWEEN 0 AND 1000", name=op.f("ck_bureau_reports_score_range")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_bureau_reports_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_reports")),
        sa.UniqueConstraint("report_id", name=op.f("uq_bureau_reports_report_id")),
    )
    with op.batch_alter_table("bureau_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bureau_reports_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_number", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid_in_full_on", sa.Date(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("sent_to_collection_on", sa.Date(), nullable=True),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_invoices_amount_non_negative")),
        sa.CheckConstraint("due_on >= issued_on", name=op.f("ck_invoices_due_after_issue")),
        sa.CheckConstraint("paid >= 0", name=op.f("ck_invoices_paid_non_negative")),
        sa.CheckConstraint(
            "reminders_sent >= 0", name=op.f("ck_invoices_reminders_sent_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_invoices_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_invoices_invoice_number")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_customer_id_due_on"), ["customer_id", "due_on"], unique=False
        )

    op.create_table(
        "applications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("product_category", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("human_review_requested", sa.Boolean(), nullable=False),
        sa.Column(
            "bureau_report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("defaulted_12m", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('web', 'store', 'phone')", name=op.f("ck_applications_channel")
        ),
        sa.CheckConstraint(
            "product_category IN ('heat_pump', 'solar_panels', 'electronics', 'phone', "
            "'smart_home', 'home_appliance')",
            name=op.f("ck_applications_product_category"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_applications_amount_positive")),
        sa.CheckConstraint(
            "term_months BETWEEN 1 AND 120", name=op.f("ck_applications_term_months_range")
        ),
        sa.ForeignKeyConstraint(
            ["bureau_report_id"],
            ["bureau_reports.id"],
            name=op.f("fk_applications_bureau_report_id_bureau_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name=op.f("fk_applications_client_id_api_clients")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_applications_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint(
            "client_id", "external_id", name=op.f("uq_applications_client_id_external_id")
        ),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applications_bureau_report_id"), ["bureau_report_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "bureau_default_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "bureau_report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("creditor_sector", sa.String(length=50), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "amount >= 0", name=op.f("ck_bureau_default_entries_amount_non_negative")
        ),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= started_on",
            name=op.f("ck_bureau_default_entries_ended_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["bureau_report_id"],
            ["bureau_reports.id"],
            name=op.f("fk_bureau_default_entries_bureau_report_id_bureau_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_default_entries")),
    )
    with op.batch_alter_table("bureau_default_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bureau_default_entries_bureau_report_id"),
            ["bureau_report_id"],
            unique=False,
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_number", sa.String(length=64), nullable=False),
        sa.Column(
            "invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payments_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payments_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("payment_number", name=op.f("uq_payments_payment_number")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "application_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("probability_of_default", sa.Float(), nullable=True),
        sa.Column("risk_grade", sa.String(length=20), nullable=True),
        sa.Column("model_name", sa.String(length=100), nullable=True),
        sa.Column("model_version", sa.String(length=50), nullable=True),
        sa.Column("policy_version", sa.String(length=50), nullable=False),
        sa.Column("contract_versions", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("policy_rules", sa.JSON(), nullable=False),
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("counterfactual", sa.JSON(), nullable=True),
        sa.Column("bureau_report_id", sa.String(length=64), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contestable_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supersedes_decision_id", sa.String(length=36), nullable=True),
        sa.Column("shadow", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('approve', 'decline', 'refer', 'pending_review')",
            name=op.f("ck_decisions_outcome"),
        ),
        sa.CheckConstraint(
            "probability_of_default IS NULL "
            "OR (probability_of_default >= 0 AND probability_of_default <= 1)",
            name=op.f("ck_decisions_probability_of_default_range"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_decisions_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_decision_id"],
            ["decisions.id"],
            name=op.f("fk_decisions_supersedes_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decisions_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_decisions_decided_at"), ["decided_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_decisions_supersedes_decision_id"),
            ["supersedes_decision_id"],
            unique=False,
        )

    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_idempotency_records_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_idempotency_records_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint(
            "client_id",
            "idempotency_key",
            name=op.f("uq_idempotency_records_client_id_idempotency_key"),
        ),
    )
    op.create_table(
        "review_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extended_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("extension_notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "claimed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column(
            "second_signature_by",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resulting_decision_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "kind IN ('contest', 'human_review_requested', 'objection')",
            name=op.f("ck_review_cases_kind"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('upheld', 'overturned', 'terms_changed')",
            name=op.f("ck_review_cases_outcome"),
        ),
        sa.CheckConstraint(
            "status <> 'resolved' OR (outcome IS NOT NULL AND justification IS NOT NULL "
            "AND resolved_at IS NOT NULL)",
            name=op.f("ck_review_cases_resolved_has_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'awaiting_second_signature', 'resolved')",
            name=op.f("ck_review_cases_status"),
        ),
        sa.CheckConstraint(
            "extended_due_at IS NULL "
            "OR (extension_reason IS NOT NULL AND extended_due_at > due_at)",
            name=op.f("ck_review_cases_extension_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_review_cases_claimed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_review_cases_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["resulting_decision_id"],
            ["decisions.id"],
            name=op.f("fk_review_cases_resulting_decision_id_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["second_signature_by"],
            ["users.id"],
            name=op.f("fk_review_cases_second_signature_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_cases")),
        sa.UniqueConstraint("decision_id", "kind", name=op.f("uq_review_cases_decision_id_kind")),
    )
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_cases_claimed_by"), ["claimed_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_cases_status_due_at"), ["status", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_cases_status_due_at"))
        batch_op.drop_index(batch_op.f("ix_review_cases_claimed_by"))

    op.drop_table("review_cases")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_supersedes_decision_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_decided_at"))
        batch_op.drop_index(batch_op.f("ix_decisions_application_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_invoice_id"))

    op.drop_table("payments")
    with op.batch_alter_table("bureau_default_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bureau_default_entries_bureau_report_id"))

    op.drop_table("bureau_default_entries")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_customer_id"))
        batch_op.drop_index(batch_op.f("ix_applications_bureau_report_id"))

    op.drop_table("applications")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_customer_id_due_on"))

    op.drop_table("invoices")
    with op.batch_alter_table("bureau_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bureau_reports_customer_id"))

    op.drop_table("bureau_reports")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_client_id"))

    op.drop_table("api_keys")
    op.drop_table("users")
    with op.batch_alter_table("decision_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_log_decision_id"))

    op.drop_table("decision_log")
    op.drop_table("customers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_type_entity_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("api_clients")
