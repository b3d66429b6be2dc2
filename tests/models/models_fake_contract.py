"""An in-memory stand-in for the contracts loader's ``Contract``, same public surface.

Used so the training tests pin down how training reads a contract (key, time, target,
allowed features, monotone directions, forbidden features) without parsing YAML.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scoring.features import FEATURE_NAMES

INCREASING = {
    "max_dpd_3m", "max_dpd_6m", "max_dpd_12m", "max_dpd_24m", "mean_dpd_12m",
    "late_payments_12m", "late_payments_24m", "reminders_12m", "collections_24m",
    "current_dpd", "bureau_class_rank", "bureau_open_defaults", "bureau_closed_defaults",
    "partial_payment_share_12m",
}
DECREASING = {"bureau_score", "tenure_months", "pay_margin_mean_12m"}


class ForbiddenFeature(ValueError):
    pass


class ContractViolation(ValueError):
    pass


@dataclass(frozen=True)
class FieldSpec:
    name: str
    logical_type: str
    required: bool = True
    personal_data: bool = True
    purpose: str = "creditworthiness assessment"
    legal_basis: str = "contract"
    model_use: str = "allowed"
    monotone: str | None = None
    retention: str = "P3Y"


@dataclass
class FakeValidation:
    success: bool
    problems: list[str]

    def summary(self) -> str:
        return "all expectations met" if self.success else "; ".join(self.problems)

    def raise_for_failure(self) -> None:
        if not self.success:
            raise ContractViolation(self.summary())


class FakeContract:
    id = "training_snapshot"
    version = "1.0.0"
    key_column = "application_id"
    time_column = "applied_at"
    target_column = "defaulted_12m"

    def __init__(self, extra_fields: list[FieldSpec] | None = None):
        monotone = {**dict.fromkeys(INCREASING, "increasing"),
                    **dict.fromkeys(DECREASING, "decreasing")}
        self.fields = [
            FieldSpec("application_id", "string", model_use="key"),
            FieldSpec("applied_at", "timestamp", model_use="time"),
            *[FieldSpec(n, "number", monotone=monotone.get(n)) for n in FEATURE_NAMES],
            FieldSpec("defaulted_12m", "boolean", model_use="target"),
            FieldSpec("sex", "string", model_use="forbidden", purpose="fairness reporting"),
            *(extra_fields or []),
        ]

    def model_features(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.model_use == "allowed"]

    def check_model_features(self, names) -> None:
        by_name = {f.name: f for f in self.fields}
        for name in names:
            spec = by_name.get(name)
            if spec is None or spec.model_use != "allowed":
                use = spec.model_use if spec else "not listed"
                raise ForbiddenFeature(
                    f"{name}: contract {self.id} {self.version} says modelUse={use}; "
                    "a creditworthiness model may not use it"
                )


def fake_validate(snapshot: pd.DataFrame, contract: FakeContract) -> FakeValidation:
    listed = {f.name for f in contract.fields}
    problems = [f"column {c} not in contract" for c in snapshot.columns if c not in listed]
    if snapshot[contract.key_column].duplicated().any():
        problems.append(f"{contract.key_column} not unique")
    return FakeValidation(not problems, problems)
