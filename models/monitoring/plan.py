"""The monitoring plan of a model version: the thresholds its model card states.

The card (``models.model_card``) writes the plan into the version's registry tags
(``monitoring.*``) and prints it in its section 7; ``installment monitor`` reads it back from
the version it judges, so what monitoring calls a shift is what the approved card promised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from models.monitoring.drift import MIN_VALUES_FOR_VERDICT, PSI_MAJOR, PSI_MODERATE
from scoring.domain.errors import InvalidInputError

TAG_PREFIX = "monitoring."


class MonitoringPlanError(InvalidInputError, ValueError):
    """A card's monitoring plan that cannot be read (a threshold not a number, out of order)."""


@dataclass(frozen=True)
class MonitoringPlan:
    """Thresholds that turn monitoring figures into verdicts."""

    # PSI: below ``psi_moderate`` stable, up to ``psi_major`` a moderate shift, above major.
    psi_moderate: float = PSI_MODERATE
    psi_major: float = PSI_MAJOR
    # Fewer values than this get no drift verdict at all.
    min_values_for_verdict: int = MIN_VALUES_FOR_VERDICT
    # Back-test: a grade whose realised default rate is this many standard errors off.
    backtest_z: float = 2.0
    # Reviewers overturning more than this share of automated decisions in a week.
    overturn_rate_alert: float = 0.20
    # Where the figures came from, for the report ("model card of version 3 (...)").
    source: str = "defaults of this release"

    def __post_init__(self) -> None:
        if not 0 < self.psi_moderate < self.psi_major:
            raise MonitoringPlanError(
                f"monitoring plan: PSI thresholds must satisfy 0 < moderate < major, got "
                f"{self.psi_moderate:g} and {self.psi_major:g}"
            )
        if self.min_values_for_verdict < 1 or self.backtest_z <= 0:
            raise MonitoringPlanError("monitoring plan: minimum count and z must be positive")
        if not 0 < self.overturn_rate_alert <= 1:
            raise MonitoringPlanError("monitoring plan: overturn-rate alert must be in (0, 1]")

    def as_tags(self) -> dict[str, str]:
        """The plan as registry tags of a version (``monitoring.psi_moderate`` ...)."""
        return {
            f"{TAG_PREFIX}{f.name}": f"{getattr(self, f.name):g}"
            for f in fields(self)
            if f.name != "source"
        }

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], *, source: str) -> MonitoringPlan | None:
        """The plan a version's tags hold; None when its card wrote none."""
        values = {
            f.name: tags[f"{TAG_PREFIX}{f.name}"]
            for f in fields(cls)
            if f"{TAG_PREFIX}{f.name}" in tags
        }
        if not values:
            return None
        try:
            parsed: dict[str, float | int] = {
                name: int(float(text)) if name == "min_values_for_verdict" else float(text)
                for name, text in values.items()
            }
        except ValueError:
            raise MonitoringPlanError(
                f"{source}: a monitoring threshold is not a number: {dict(values)}"
            ) from None
        return cls(**parsed, source=source)  # type: ignore[arg-type]
