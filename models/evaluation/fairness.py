"""Fairness of a PD model across groups it never sees (R14).

The protected attributes are kept apart from training data and joined here only, on the
evaluation slice: in a world, age band, sex and home language (``protected/attributes.parquet``
and the birth date); in a user's snapshot, whatever its contract declares ``modelUse:
protected`` or a ``--protected`` file holds. Per group and attribute: approval rate at the
approval cut-off, default rate among the approved and AUC, computed with fairlearn's
``MetricFrame``, with a 95 % Wilson interval on each rate so a small group's figure is read
with its uncertainty. The gap is the largest difference between two groups large enough to
judge (``min_group_size`` applications); an attribute with fewer than two such groups is
"not enough data to judge", which no gate takes as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.world_folder import PROTECTED_FILE, read_frame
from models.evaluation import metrics as m
from models.evaluation.metrics import wilson_interval
from scoring.domain.errors import InvalidInputError
from scoring.domain.policy import Policy

ATTRIBUTES = ("age_band", "sex", "language")
NOT_JUDGED = "not enough data to judge"
# Lower bounds of the age bands, in whole years at the application day.
AGE_BANDS = ((0, "under 25"), (25, "25-34"), (35, "35-49"), (50, "50-64"), (65, "65+"))
MIN_GROUP_SIZE = 300
GAP_METRICS = ("approval_rate", "default_rate_approved", "auc")
POLICY_DIR = Path(__file__).resolve().parents[2] / "scoring" / "policies"


class FairnessInputError(InvalidInputError, ValueError):
    """Protected attributes cannot be joined to the evaluated applications."""


@dataclass
class FairnessReport:
    """Per-group tables and gaps for each protected attribute."""

    approve_below: float
    min_group_size: int
    by_group: dict[str, pd.DataFrame]
    gaps: dict[str, dict[str, float]]
    basis: str = "the evaluation slice"

    def unjudged(self) -> list[str]:
        """Attributes on which no gap could be judged (fewer than two groups large enough)."""
        return [a for a, g in self.gaps.items() if all(np.isnan(v) for v in g.values())]

    def verdict(self, attribute: str) -> str:
        return NOT_JUDGED if attribute in self.unjudged() else "judged"

    def metrics(self) -> dict[str, float]:
        """Flat ``fairness.<attribute>.<metric>_gap`` figures for MLflow and the registry."""
        out = {}
        for attribute, gaps in self.gaps.items():
            for name, value in gaps.items():
                out[f"fairness.{attribute}.{name}_gap"] = value
        out["fairness.approve_below"] = self.approve_below
        return out

    def worst_gaps(self) -> dict[str, float]:
        """The largest gap of each metric over all attributes (NaN when none was judged)."""
        return {
            name: max(
                (g[name] for g in self.gaps.values() if not np.isnan(g[name])), default=np.nan
            )
            for name in GAP_METRICS
        }


def latest_policy(policy_dir: Path = POLICY_DIR) -> Policy:
    """The newest policy file's policy (its cut-offs are what the reports judge models at)."""
    import yaml

    files = sorted(Path(policy_dir).glob("policy-*.yaml"))
    if not files:
        raise FileNotFoundError(f"no policy-*.yaml in {policy_dir}")
    return Policy.from_mapping(yaml.safe_load(files[-1].read_text()))


def age_band(age_years: np.ndarray) -> np.ndarray:
    """Band label for each whole age in years."""
    lows = np.array([low for low, _ in AGE_BANDS])
    labels = np.array([label for _, label in AGE_BANDS])
    return labels[np.searchsorted(lows, age_years, side="right") - 1]


def _whole_years(born: pd.Series, on: pd.Series) -> np.ndarray:
    born = pd.to_datetime(born)
    on = pd.to_datetime(on, utc=True).dt.tz_localize(None)
    years = on.dt.year - born.dt.year
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day)
    )
    return (years - before_birthday.astype(int)).to_numpy()


def protected_groups(
    *,
    applications: pd.DataFrame,
    customers: pd.DataFrame,
    attributes: pd.DataFrame,
    key: str = "application_id",
    person: str = "personal_code",
) -> pd.DataFrame:
    """Age band, sex and language per application, indexed by ``key``."""
    for name, frame, columns in (
        ("applications", applications, [key, person, "applied_at"]),
        ("customers", customers, [person, "birth_date"]),
        ("protected attributes", attributes, [person, "sex", "language"]),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise FairnessInputError(f"{name} lack column(s) {', '.join(missing)}")
    joined = (
        applications[[key, person, "applied_at"]]
        .merge(customers[[person, "birth_date"]], on=person, how="left")
        .merge(attributes[[person, "sex", "language"]], on=person, how="left")
    )
    unknown = joined[["birth_date", "sex", "language"]].isna().any(axis=1)
    if unknown.any():
        raise FairnessInputError(
            f"{int(unknown.sum())} application(s) lack a birth date, sex or language"
        )
    return pd.DataFrame(
        {
            "age_band": age_band(_whole_years(joined["birth_date"], joined["applied_at"])),
            "sex": joined["sex"].astype(str).to_numpy(),
            "language": joined["language"].astype(str).to_numpy(),
        },
        index=pd.Index(joined[key].to_numpy(), name=key),
    )


def read_world_groups(world_dir: Path) -> pd.DataFrame | None:
    """Protected groups per application of a world folder, or None when it keeps none."""
    world_dir = Path(world_dir)
    if not (world_dir / PROTECTED_FILE).exists():
        return None
    return protected_groups(
        applications=read_frame(
            world_dir,
            "applications.parquet",
            columns=["application_id", "personal_code", "applied_at"],
        ),
        customers=read_frame(
            world_dir, "customers.parquet", columns=["personal_code", "birth_date"]
        ),
        attributes=read_frame(
            world_dir, PROTECTED_FILE, columns=["personal_code", "sex", "language"]
        ),
    )


def _approval_rate(y_true, y_pred) -> float:
    return float(np.mean(y_pred)) if len(y_pred) else np.nan


def _default_rate_approved(y_true, y_pred) -> float:
    approved = np.asarray(y_pred, dtype=bool)
    return float(np.mean(np.asarray(y_true)[approved])) if approved.any() else np.nan


def fairness_report(
    *,
    y: np.ndarray,
    pd_: np.ndarray,
    groups: pd.DataFrame,
    approve_below: float,
    min_group_size: int = MIN_GROUP_SIZE,
    attributes: tuple[str, ...] | None = None,
    basis: str = "the evaluation slice",
) -> FairnessReport:
    """Approval rate, default rate among approved and AUC per group, with the gaps.

    ``attributes`` defaults to every column of ``groups``.
    """
    from fairlearn.metrics import MetricFrame

    y = np.asarray(y, dtype=np.float64)
    pd_ = np.asarray(pd_, dtype=np.float64)
    if not len(y) == len(pd_) == len(groups):
        raise FairnessInputError(
            f"outcomes ({len(y)}), PDs ({len(pd_)}) and groups ({len(groups)}) differ in length"
        )
    approved = (pd_ < approve_below).astype(np.int64)
    by_group: dict[str, pd.DataFrame] = {}
    gaps: dict[str, dict[str, float]] = {}
    for attribute in attributes or tuple(groups.columns):
        if attribute not in groups.columns:
            raise FairnessInputError(f"groups lack the protected attribute {attribute!r}")
        feature = groups[attribute].to_numpy()
        frame = MetricFrame(
            metrics={
                "count": lambda t, p: len(t),
                "approval_rate": _approval_rate,
                "default_rate_approved": _default_rate_approved,
                "default_rate": lambda t, p: float(np.mean(t)),
            },
            y_true=y,
            y_pred=approved,
            sensitive_features=pd.Series(feature, name=attribute),
        )
        # AUC needs the scores, not the approval: a second frame over the PDs.
        auc_frame = MetricFrame(
            metrics={"auc": m.auc},
            y_true=y,
            y_pred=pd_,
            sensitive_features=pd.Series(feature, name=attribute),
        )
        table = frame.by_group.join(auc_frame.by_group)
        table["count"] = table["count"].astype(int)
        approved_n = np.rint(table["approval_rate"] * table["count"])
        table["approval_rate_low"], table["approval_rate_high"] = wilson_interval(
            approved_n, table["count"]
        )
        bad_approved = np.rint(table["default_rate_approved"].fillna(0) * approved_n)
        low, high = wilson_interval(bad_approved, approved_n)
        table["default_rate_approved_low"] = np.where(approved_n > 0, low, np.nan)
        table["default_rate_approved_high"] = np.where(approved_n > 0, high, np.nan)
        table["judged"] = table["count"] >= min_group_size
        by_group[attribute] = table.reset_index()
        judged = table[table["judged"]]
        gaps[attribute] = {
            name: float(judged[name].max() - judged[name].min())
            if judged[name].notna().sum() >= 2
            else np.nan
            for name in GAP_METRICS
        }
    return FairnessReport(
        approve_below=approve_below,
        min_group_size=min_group_size,
        by_group=by_group,
        gaps=gaps,
        basis=basis,
    )
