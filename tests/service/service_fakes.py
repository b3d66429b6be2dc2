"""Fakes for the decision service: a transparent model, a scripted bureau, a fixed clock."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from scoring.bureau.client import BureauMalformedAnswer, BureauUnavailable
from scoring.domain.bureau import RISK_CLASSES, BureauReport, DefaultEntry

# Log-odds per unit of each feature; NaN counts as 0. Bigger instalments and a worse bureau
# class raise the PD, so a longer term or a smaller amount can flip a decline.
WEIGHTS = {
    "monthly_instalment_eur": 0.004,
    "bureau_class_rank": 0.9,
    "current_dpd": 0.03,
    "max_dpd_12m": 0.02,
    "thin_file": 0.4,
}


@dataclass
class LinearModel:
    """A ScoringModel-like logistic model whose SHAP values are ``weight * value``."""

    version: str = "1"
    name: str = "installment-pd"
    intercept: float = -4.0
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    metadata: dict = field(
        default_factory=lambda: {"contract_id": "training_snapshot", "contract_version": "1.0.0"}
    )
    calls: int = 0

    @property
    def feature_names(self) -> list[str]:
        from scoring.features import FEATURE_NAMES

        return list(FEATURE_NAMES)

    def _contributions(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        # A matrix comes with the columns in feature_names order, as ScoringModel takes it.
        if isinstance(features, pd.DataFrame):
            features = features.loc[:, self.feature_names].to_numpy(dtype="float64")
        weights = np.array([self.weights.get(n, 0.0) for n in self.feature_names])
        return np.nan_to_num(np.asarray(features, dtype="float64"), nan=0.0) * weights

    def predict_pd(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        self.calls += 1
        logit = self.intercept + self._contributions(features).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-logit))

    def contributions(self, features: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        return self.intercept, self._contributions(features)

    def explain(self, features: pd.DataFrame | np.ndarray) -> tuple[float, pd.DataFrame]:
        return self.intercept, pd.DataFrame(
            self._contributions(features), columns=self.feature_names
        )


class FakeBureau:
    """Answers every person with the same class, or fails the way it is told to."""

    def __init__(self, risk_class: str = "good", *, open_defaults: int = 0) -> None:
        self.risk_class = risk_class
        self.open_defaults = open_defaults
        self.failure: str | None = None  # "unavailable" or "malformed"
        self.codes_seen: list[str] = []
        self.budgets_seen: list[float | None] = []
        self._ids = itertools.count(1)

    def fetch_report(self, personal_code: str, *, budget_s: float | None = None) -> BureauReport:
        self.codes_seen.append(personal_code)
        self.budgets_seen.append(budget_s)
        if self.failure == "unavailable":
            raise BureauUnavailable("bureau did not answer within 0.200 s", reason="timeout")
        if self.failure == "malformed":
            raise BureauMalformedAnswer("bureau answer is not valid JSON")
        definition = RISK_CLASSES[self.risk_class]
        entries = tuple(
            DefaultEntry("telecom", 120.0, datetime(2025, 1, 1).date(), None)
            for _ in range(self.open_defaults)
        )
        return BureauReport(
            report_id=f"FAKE-{next(self._ids):06d}",
            requested_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            score={0: 850, 1: 650, 2: 450, 3: 200}[definition.rank],
            risk_class=self.risk_class,
            pd_band_low=definition.pd_band_low,
            pd_band_high=definition.pd_band_high,
            open_default_count=self.open_defaults,
            closed_default_count=0,
            default_entries=entries,
        )


class StepClock:
    """A clock that starts at ``start`` and moves one millisecond per reading."""

    def __init__(self, start: datetime = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


PSEUDONYM_KEY = bytes(range(32))
CODE = "38001085718"  # valid: born 1980-01-08


BOTH_DATABASES = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def application(
    *,
    application_id: str = "APP-0001",
    amount: float = 500.0,
    term: int = 12,
    category: str = "electronics",
    code: str = CODE,
    human_review_requested: bool = False,
):
    from data_contracts.requests import DecisionRequest

    return DecisionRequest.model_validate(
        {
            "application_id": application_id,
            "personal_code": code,
            "purchase": {"amount_eur": amount, "term_months": term, "product_category": category},
            "channel": "web",
            "human_review_requested": human_review_requested,
        }
    )
