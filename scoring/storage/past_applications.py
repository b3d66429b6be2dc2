"""The past applications a simulation replays: stored, minimised decision inputs of a period.

Only the engine's own automated decisions with their stored inputs are read (a reviewer's
decision that superseded one is a person's, not the engine's, and has no inputs of its own);
no personal code, no bureau enquiry. The application's 12-month outcome comes along where
the product knows it (``applications.defaulted_12m``: history loaded with outcomes, or a
plan whose year has run), so a simulation can show the realised bad rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.storage.tables import Application, Decision
from scoring.storage.tables_decisions import DecisionInput


@dataclass(frozen=True)
class PastApplication:
    """One stored decision's inputs and what was decided then."""

    decision_id: str
    decided_at: datetime
    outcome: str
    policy_version: str
    model_version: str | None
    facts: dict[str, Any]
    features: dict[str, Any] | None
    # Whether the plan defaulted within 12 months; None while unknown.
    defaulted: bool | None = None


class PastApplications:
    """Reads of stored decision inputs, in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def in_period(self, start: datetime, end: datetime) -> Iterator[PastApplication]:
        """The engine's decisions made in ``[start, end)`` with their inputs, oldest first."""
        rows = self.session.execute(
            select(
                Decision.id,
                Decision.decided_at,
                Decision.outcome,
                Decision.policy_version,
                Decision.model_version,
                DecisionInput.facts,
                DecisionInput.features,
                Application.defaulted_12m,
            )
            .join(DecisionInput, DecisionInput.decision_id == Decision.id)
            .join(Application, Application.id == Decision.application_id)
            .where(Decision.decided_at >= start, Decision.decided_at < end)
            .where(Decision.supersedes_decision_id.is_(None))
            .order_by(Decision.decided_at, Decision.id)
            .execution_options(yield_per=2000)
        )
        for row in rows:
            yield PastApplication(
                decision_id=row.id,
                decided_at=row.decided_at,
                outcome=row.outcome,
                policy_version=row.policy_version,
                model_version=row.model_version,
                facts=dict(row.facts),
                features=dict(row.features) if row.features is not None else None,
                defaulted=row.defaulted_12m,
            )
