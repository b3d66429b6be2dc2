"""Stored records of payment-default reporting: verifications, disputes, notices, runs, vault.

Defaults themselves are derived from invoices and payments, so everything here names a
default by its customer and start date. Report lines name the customer by pseudonym and
have no foreign key: they are the evidence of what the bureau was sent and must outlive
changes to the customer records. The identity vault is the one table that can give back
an identification code, encrypted under a key kept apart from the database.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from scoring.storage.tables import Base, BigId

TRANSACTIONS = ("new", "correction", "removal")
DISPUTE_RESOLUTIONS = ("rejected", "accepted")


class DefaultVerification(Base):
    """An operator or reviewer confirming that a derived default is correct."""

    __tablename__ = "default_verifications"
    __table_args__ = (UniqueConstraint("customer_id", "started_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    started_on: Mapped[date]
    verified_by: Mapped[str] = mapped_column(String(100))
    verified_at: Mapped[datetime]


class DefaultDispute(Base):
    """A customer disputing a default; it blocks reporting until rejected."""

    __tablename__ = "default_disputes"
    __table_args__ = (
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('rejected', 'accepted')", name="resolution"
        ),
        CheckConstraint(
            "(resolution IS NULL) = (resolved_at IS NULL AND resolved_by IS NULL)",
            name="resolved_has_who_and_when",
        ),
        Index(None, "customer_id", "started_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    started_on: Mapped[date]
    raised_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class DefaultNotice(Base):
    """A notice sent to the debtor before the default may be reported."""

    __tablename__ = "default_notices"
    __table_args__ = (Index(None, "customer_id", "started_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    started_on: Mapped[date]
    sent_on: Mapped[date]
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime]


class DefaultReportRun(Base):
    """One report file made for the bureau, for one report date."""

    __tablename__ = "default_report_runs"
    __table_args__ = (
        CheckConstraint(
            "new_count >= 0 AND correction_count >= 0 AND removal_count >= 0 "
            "AND held_back_count >= 0",
            name="counts_non_negative",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    as_of: Mapped[date] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    new_count: Mapped[int] = mapped_column(Integer)
    correction_count: Mapped[int] = mapped_column(Integer)
    removal_count: Mapped[int] = mapped_column(Integer)
    held_back_count: Mapped[int] = mapped_column(Integer)


class DefaultReportLine(Base):
    """One line of a report run, by pseudonym: what the bureau was told."""

    __tablename__ = "default_report_lines"
    __table_args__ = (
        CheckConstraint(
            f"transaction_type IN ({', '.join(repr(t) for t in TRANSACTIONS)})",
            name="transaction_type",
        ),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        UniqueConstraint("run_id", "pseudonym", "started_on"),
        Index(None, "pseudonym", "started_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("default_report_runs.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    transaction_type: Mapped[str] = mapped_column(String(20))
    pseudonym: Mapped[str] = mapped_column(String(64))
    started_on: Mapped[date]
    amount: Mapped[Decimal]
    ended_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(String(200), default="")


class IdentityVaultEntry(Base):
    """An identification code encrypted (AES-GCM, the pseudonym as associated data)."""

    __tablename__ = "identity_vault"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary())
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime]
