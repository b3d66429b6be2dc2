"""Stored records of storage limitation: decisions removed by the retention sweep or erasure.

The decision log keeps its entries (they are the hash-chained evidence and hold no clear
identification code); the decision rows they point at are removed when their retention
ends. Each removal leaves a tombstone here, so a check of the log can tell a decision
removed on purpose from one deleted behind the log's back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
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
