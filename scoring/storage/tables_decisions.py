"""Tables of the decision service: the decision log's chain head and each decision's inputs.

The chain head is one row that every append to ``decision_log`` locks and moves forward,
so concurrent writers (threads, or several API processes on PostgreSQL) take turns and
the chain never forks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from scoring.storage.tables import Base

CHAIN_HEAD_ID = 1


class DecisionLogHead(Base):
    """The newest entry of the decision log: its sequence number and hash (one row)."""

    __tablename__ = "decision_log_head"
    __table_args__ = (CheckConstraint(f"id = {CHAIN_HEAD_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))


class DecisionInput(Base):
    """The minimised inputs a decision was computed from: application facts and features."""

    __tablename__ = "decision_inputs"

    decision_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True
    )
    # Amount, term, product, age in years and the routing flags; never the personal code.
    facts: Mapped[dict[str, Any]]
    # Model features by name; null when no model scored the application.
    features: Mapped[dict[str, Any] | None]
    # Calibrated log-odds the contributions start from.
    base_value: Mapped[float | None] = mapped_column(Float)
