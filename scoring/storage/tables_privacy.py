"""Stored records of privacy: removed decisions, data-subject identity channels, throttles.

Decisions removed by the retention sweep or erasure:

The decision log keeps its entries (they are the hash-chained evidence and hold no clear
identification code); the decision rows they point at are removed when their retention
ends. Each removal leaves a tombstone here, so a check of the log can tell a decision
removed on purpose from one deleted behind the log's back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scoring.storage.tables import Base


class RemovedDecision(Base):
    """A decision row removed by the retention sweep or a data-subject erasure."""

    __tablename__ = "removed_decisions"

    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    removed_at: Mapped[datetime]
    # "retention" or "erasure"; the audit log entry of the batch says which rule applied.
    removed_by: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(64))


class SubjectChannel(Base):
    """A client's identity channel whose public key signs data-subject identity assertions."""

    __tablename__ = "subject_channels"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    # The PEM text of an Ed25519 or P-256 public key; never a private key.
    public_key_pem: Mapped[str] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class UsedIdentityAssertion(Base):
    """An identity assertion already spent: each one proves exactly one request."""

    __tablename__ = "used_identity_assertions"

    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    assertion_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Kept until the assertion could no longer be accepted anyway, then pruned.
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RequestCounter(Base):
    """Requests counted in a fixed window, shared by every process on the database."""

    __tablename__ = "request_counters"

    # e.g. "subjects:client:<client id>" or "subjects:person:<pseudonym>"; never a clear code.
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_started_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
