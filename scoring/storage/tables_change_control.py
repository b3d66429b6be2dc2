"""Change control's records: model and policy change requests, and the automation switch.

The served champion and the active policy are read from ``change_requests`` (the product's
own record of who proposed and who approved what), never from the registry's alias alone.
The stop switch is a row per change of state; the newest row is the state in force.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scoring.storage.tables import Base, BigId

CHANGE_KINDS = ("champion", "rollback", "policy")
CHANGE_STATUSES = ("proposed", "approved", "refused", "adopted")


class ChangeRequest(Base):
    """A proposed model or policy change, its gates and attachments, and who decided it."""

    __tablename__ = "change_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in CHANGE_KINDS)})", name="kind"),
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in CHANGE_STATUSES)})", name="status"
        ),
        CheckConstraint(
            "(kind = 'policy' AND policy_version IS NOT NULL AND effective_from IS NOT NULL)"
            " OR (kind <> 'policy' AND model_version IS NOT NULL)",
            name="subject",
        ),
        CheckConstraint("status IN ('proposed') OR decided_at IS NOT NULL", name="decided_at"),
        Index("ix_change_requests_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # The registered model the version belongs to; NULL (rows recorded before) is the
    # product's own installment-pd.
    model_name: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(32))
    policy_version: Mapped[str | None] = mapped_column(String(32))
    effective_from: Mapped[datetime | None]
    # The champion this change replaces when it was proposed (for the record and rollbacks).
    replaces_version: Mapped[str | None] = mapped_column(String(32))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    # Gate results as run at proposal: [{"gate", "passed", "detail"}, ...].
    gates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Where the simulation report and the model card are: {"simulation": ..., "model_card": ...}.
    attachments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class AutomationSwitchEvent(Base):
    """One turn of the oversight stop switch (AI Act Art. 14(4)(e)): who, when, why."""

    __tablename__ = "automation_switch_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    automated_decisions: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
