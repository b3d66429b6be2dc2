"""The credit policy: a versioned file of knock-out rules, cut-offs and the oversight switch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from scoring.domain.errors import InvalidInputError


class PolicyError(InvalidInputError, ValueError):
    """A policy file is incomplete or inconsistent."""


@dataclass(frozen=True)
class RiskGrade:
    grade: str
    below: float


@dataclass(frozen=True)
class Policy:
    version: str
    approve_below: float
    decline_at_or_above: float
    minimum_age_years: int
    max_internal_days_past_due: int
    product_limits_eur: Mapping[str, float]
    allowed_terms_months: tuple[int, ...]
    risk_grades: tuple[RiskGrade, ...]
    all_applications_to_manual_review: bool = False
    second_signature_above_eur: float = 5000.0
    contest_window_days: int = 90
    # The smallest plan worth suggesting per product: a counterfactual never goes below it.
    product_minimums_eur: Mapping[str, float] = field(default_factory=dict)
    # The day the file says it takes effect; an approved change request decides when it does.
    effective_from: date | None = None
    # Share of the exposure lost when a plan defaults; expected loss = PD x exposure x LGD.
    loss_given_default: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build a policy from its parsed file, refusing gaps and contradictions."""
        try:
            cutoffs = data["cutoffs"]
            policy = cls(
                version=str(data["version"]),
                approve_below=float(cutoffs["approve_below"]),
                decline_at_or_above=float(cutoffs["decline_at_or_above"]),
                minimum_age_years=int(data["minimum_age_years"]),
                max_internal_days_past_due=int(data["max_internal_days_past_due"]),
                product_limits_eur={k: float(v) for k, v in data["product_limits_eur"].items()},
                allowed_terms_months=tuple(sorted(int(t) for t in data["allowed_terms_months"])),
                risk_grades=tuple(
                    RiskGrade(grade=str(g["grade"]), below=float(g["below"]))
                    for g in data["risk_grades"]
                ),
                all_applications_to_manual_review=bool(
                    data.get("all_applications_to_manual_review", False)
                ),
                second_signature_above_eur=float(data.get("second_signature_above_eur", 5000)),
                contest_window_days=int(data.get("contest_window_days", 90)),
                product_minimums_eur={
                    k: float(v) for k, v in (data.get("product_minimums_eur") or {}).items()
                },
                effective_from=_date(data.get("effective_from")),
                loss_given_default=(
                    float(data["loss_given_default"])
                    if data.get("loss_given_default") is not None
                    else None
                ),
            )
        except KeyError as missing:
            raise PolicyError(f"policy file lacks the entry {missing}") from None
        except (TypeError, ValueError, AttributeError) as wrong:
            raise PolicyError(f"policy file has a malformed entry: {wrong}") from None
        policy._check()
        return policy

    def _check(self) -> None:
        if not self.version.strip():
            raise PolicyError("the policy's version must not be empty")
        if not 0 < self.approve_below <= self.decline_at_or_above <= 1:
            raise PolicyError("cut-offs must satisfy 0 < approve_below <= decline_at_or_above <= 1")
        bounds = [g.below for g in self.risk_grades]
        if not bounds or bounds != sorted(bounds) or bounds[-1] <= 1.0:
            raise PolicyError("risk grades must ascend and the last must cover PD 1.0")
        if len(set(bounds)) != len(bounds) or bounds[0] <= 0:
            raise PolicyError("risk grades must cover PD from 0 in strictly ascending bands")
        grades = [g.grade for g in self.risk_grades]
        if len(set(grades)) != len(grades):
            raise PolicyError("each risk grade must be named once")
        if self.loss_given_default is not None and not 0 < self.loss_given_default <= 1:
            raise PolicyError("loss_given_default must lie in (0, 1]")
        if not self.allowed_terms_months:
            raise PolicyError("allowed_terms_months must not be empty")
        for product, minimum in self.product_minimums_eur.items():
            limit = self.product_limits_eur.get(product)
            if limit is None:
                raise PolicyError(f"product_minimums_eur names {product!r}, which has no limit")
            if not 0 <= minimum <= limit:
                raise PolicyError(
                    f"product_minimums_eur[{product!r}] must be between 0 and the limit {limit:g}"
                )

    def with_cutoffs(
        self, *, approve_below: float | None = None, decline_at_or_above: float | None = None
    ) -> Policy:
        """This policy with its refer band moved (a candidate to simulate), checked again."""
        if approve_below is None and decline_at_or_above is None:
            return self
        moved = replace(
            self,
            version=f"{self.version}+cutoffs",
            approve_below=self.approve_below if approve_below is None else float(approve_below),
            decline_at_or_above=(
                self.decline_at_or_above
                if decline_at_or_above is None
                else float(decline_at_or_above)
            ),
        )
        moved._check()
        return moved

    def risk_grade(self, probability_of_default: float) -> str:
        """The grade whose band holds the probability of default."""
        for grade in self.risk_grades:
            if probability_of_default < grade.below:
                return grade.grade
        return self.risk_grades[-1].grade

    def product_minimum(self, product_category: str) -> float:
        """The smallest plan worth suggesting for a product (0: no minimum set)."""
        return self.product_minimums_eur.get(product_category, 0.0)

    def product_limit(self, product_category: str) -> float | None:
        """The largest plan for a product category, or None when the category is unknown."""
        return self.product_limits_eur.get(product_category)


def _date(value: object) -> date | None:
    """``effective_from`` as a date (YAML gives a date or its ISO text); None when absent."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"effective_from must be a date like 2026-11-20, got {value!r}") from None
