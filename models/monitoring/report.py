"""Monitoring analysis and report: drift, approval rate, back-test per grade, review overturns.

Pure over DataFrames (:class:`scoring.storage.monitoring_inputs.MonitoringInputs`) and the reference
population stored with the model version, so notebooks and tests feed it directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.monitoring.drift import (
    MIN_VALUES_FOR_VERDICT,
    BinnedDistribution,
    psi,
    psi_noise,
    psi_reading,
    shares_in,
)
from scoring.storage.monitoring_inputs import MonitoringInputs

OVERTURNED = ("overturned", "terms_changed")


@dataclass
class MonitoringResult:
    """Every table of the report; empty tables mean the source had nothing yet."""

    summary: dict[str, Any]
    feature_psi: pd.DataFrame
    approval_by_week: pd.DataFrame
    backtest: pd.DataFrame
    overturns: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # Today's PDs and the training population's binned PDs, for the distribution plot.
    score_now: np.ndarray | None = None
    score_reference: dict[str, Any] | None = None


def feature_drift(reference: dict[str, Any], features: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature against the reference bins, worst first."""
    rows = []
    for name, ref in reference["features"].items():
        if name not in features.columns:
            continue
        bins = BinnedDistribution.from_dict(ref)
        values = features[name].to_numpy(np.float64)
        value = psi(bins, values)
        noise = psi_noise(bins, len(values))
        rows.append(
            {
                "feature": name,
                "psi": round(value, 3),
                "noise_95": round(noise, 3),
                "reading": psi_reading(value, n=len(values), noise=noise),
            }
        )
    table = pd.DataFrame(rows, columns=["feature", "psi", "noise_95", "reading"])
    return table.sort_values("psi", ascending=False).reset_index(drop=True)


def approval_by_week(decisions: pd.DataFrame) -> pd.DataFrame:
    """Decisions and approval rate per ISO week of the decision time."""
    if decisions.empty:
        return pd.DataFrame(columns=["week", "decisions", "approval_rate"])
    week = decisions["decided_at"].dt.tz_convert(None).dt.to_period("W-SUN").dt.start_time
    grouped = decisions.assign(week=week.dt.date, approved=decisions["outcome"] == "approve")
    return (
        grouped.groupby("week")
        .agg(decisions=("approved", "size"), approval_rate=("approved", "mean"))
        .reset_index()
    )


def backtest(decisions: pd.DataFrame) -> pd.DataFrame:
    """Mean predicted PD against the realised default rate per risk grade.

    Only decisions whose application has a known 12-month outcome count; ``z`` is the gap in
    binomial standard errors of the predicted rate (|z| > 2 deserves a look).
    """
    known = decisions.dropna(subset=["pd", "defaulted_12m", "risk_grade"])
    rows = []
    for grade, group in known.groupby("risk_grade"):
        n = len(group)
        predicted = float(group["pd"].mean())
        realised = float(group["defaulted_12m"].astype(float).mean())
        se = np.sqrt(max(float((group["pd"] * (1 - group["pd"])).sum()), 1e-12)) / n
        rows.append(
            {
                "risk_grade": grade,
                "with_outcome": n,
                "mean_pd": predicted,
                "realised_default_rate": realised,
                "z": (realised - predicted) / se,
            }
        )
    return pd.DataFrame(
        rows, columns=["risk_grade", "with_outcome", "mean_pd", "realised_default_rate", "z"]
    )


def review_overturns(decisions: pd.DataFrame, reviews: pd.DataFrame | None) -> pd.DataFrame:
    """Per reason code of the original decision: resolved reviews and the overturn rate."""
    columns = ["reason_code", "resolved_reviews", "overturned", "overturn_rate"]
    if reviews is None or reviews.empty:
        return pd.DataFrame(columns=columns)
    resolved = reviews[reviews["status"] == "resolved"]
    joined = resolved.merge(decisions[["decision_id", "reasons"]], on="decision_id")
    exploded = joined.explode("reasons").dropna(subset=["reasons"])
    if exploded.empty:
        return pd.DataFrame(columns=columns)
    exploded["overturned"] = exploded["outcome"].isin(OVERTURNED)
    table = exploded.groupby("reasons").agg(
        resolved_reviews=("overturned", "size"), overturned=("overturned", "sum")
    )
    table["overturn_rate"] = table["overturned"] / table["resolved_reviews"]
    return (
        table.reset_index(names="reason_code")
        .sort_values("overturn_rate", ascending=False)
        .reset_index(drop=True)
    )


def analyse(*, inputs: MonitoringInputs, reference: dict[str, Any]) -> MonitoringResult:
    """Compare recent decisions with the training population of the model that made them."""
    decisions = inputs.decisions
    notes = []
    scored = decisions["pd"].dropna()
    summary: dict[str, Any] = {
        "decisions": len(decisions),
        "scored_by_a_model": len(scored),
        "from": str(decisions["decided_at"].min()) if len(decisions) else None,
        "to": str(decisions["decided_at"].max()) if len(decisions) else None,
        "reference_rows": reference.get("rows"),
        "reference_mean_pd": _rounded(reference.get("mean_pd")),
        "mean_pd": round(float(scored.mean()), 4) if len(scored) else None,
    }
    if len(scored):
        score_bins = BinnedDistribution.from_dict(reference["score"])
        value = psi(score_bins, scored)
        noise = psi_noise(score_bins, len(scored))
        summary["score_psi"] = round(value, 3)
        summary["score_psi_noise_95"] = round(noise, 3)
        summary["score_reading"] = psi_reading(value, n=len(scored), noise=noise)
        if len(scored) < MIN_VALUES_FOR_VERDICT:
            notes.append(
                f"Only {len(scored)} scored decisions: PSI at this size is mostly sampling "
                f"noise (95 % of samples of the training population itself stay below "
                f"{noise:.2f}), so no drift verdict is given below {MIN_VALUES_FOR_VERDICT} "
                "values; read the figures and the plots, not the words."
            )
    else:
        notes.append("No decision carries a model PD yet: score drift not computed.")
    if "approval_rate" in reference and len(decisions):
        approved = float((decisions["outcome"] == "approve").mean())
        summary["approval_rate"] = round(approved, 4)
        summary["reference_approval_rate"] = round(reference["approval_rate"], 4)
        summary["approval_rate_drift"] = round(approved - reference["approval_rate"], 4)
        # What the model alone would approve at the same cut-off, to separate model drift
        # from policy rules and human review.
        if len(scored):
            summary["model_approval_rate"] = round(
                float((scored < reference["approve_below"]).mean()), 4
            )
    if inputs.features is not None and not inputs.features.empty:
        feature_psi = feature_drift(reference, inputs.features)
    else:
        feature_psi = pd.DataFrame(columns=["feature", "psi", "reading"])
        notes.append("No stored feature values (decision_inputs): feature drift not computed.")
    table = backtest(decisions)
    if table.empty:
        notes.append("No decision has a realised 12-month outcome yet: back-test empty.")
    overturns = review_overturns(decisions, inputs.reviews)
    if inputs.reviews is None:
        notes.append("No review_cases table: overturn rates not computed.")
    elif overturns.empty:
        notes.append("No resolved human review among these decisions yet.")
    result = MonitoringResult(
        summary, feature_psi, approval_by_week(decisions), table, overturns, notes
    )
    result.score_now = scored.to_numpy(np.float64)
    result.score_reference = reference.get("score")
    return result


def _rounded(value: Any, digits: int = 4) -> Any:
    return round(float(value), digits) if value is not None else None


def _table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_"
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _subplots(figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A figure and its axes, drawn by Agg without pyplot (whose import costs a second)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _plots(result: MonitoringResult, out: Path) -> list[str]:
    names = []
    if not result.feature_psi.empty:
        top = result.feature_psi.head(15).iloc[::-1]
        fig, ax = _subplots((6, 4.5))
        colors = [
            "#c44e52" if v >= 0.25 else "#dd8452" if v >= 0.1 else "#4c72b0" for v in top["psi"]
        ]
        ax.barh(top["feature"], top["psi"], color=colors)
        ax.axvline(0.1, color="grey", ls="--", lw=1)
        ax.axvline(0.25, color="grey", ls=":", lw=1)
        ax.set(xlabel="PSI against the training population", title="Feature drift")
        fig.tight_layout()
        fig.savefig(out / "feature_psi.png", dpi=110)
        names.append("feature_psi.png")
    if result.score_now is not None and len(result.score_now) and result.score_reference:
        names.append(_score_plot(result.score_now, result.score_reference, out))
    if not result.approval_by_week.empty:
        # One bar per week that had decisions, on a categorical axis: a few weeks never
        # stretch over years, and the count says how much each rate rests on.
        week = result.approval_by_week
        fig, ax = _subplots((max(4.5, 0.5 * len(week) + 2), 3.5))
        x = np.arange(len(week))
        ax.bar(x, week["approval_rate"], color="#4c72b0", label="decided")
        for i, (rate, count) in enumerate(
            zip(week["approval_rate"], week["decisions"], strict=True)
        ):
            ax.text(i, rate + 0.02, f"n={count}", ha="center", fontsize=7)
        ref = result.summary.get("reference_approval_rate")
        if ref is not None:
            ax.axhline(ref, color="grey", ls="--", label="training population (model only)")
        ax.set_xticks(
            x,
            [f"{pd.Timestamp(w):%Y-%m-%d}" for w in week["week"]],
            rotation=45,
            ha="right",
            fontsize=8,
        )
        ax.set(ylim=(0, 1.05), ylabel="approval rate", title="Approval rate by week (Monday)")
        ax.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "approval_by_week.png", dpi=110)
        names.append("approval_by_week.png")
    if not result.backtest.empty:
        bt = result.backtest
        x = np.arange(len(bt))
        fig, ax = _subplots((6, 3.5))
        ax.bar(x - 0.2, bt["mean_pd"], 0.4, label="mean predicted PD")
        ax.bar(x + 0.2, bt["realised_default_rate"], 0.4, label="realised default rate")
        ax.set_xticks(x, bt["risk_grade"])
        ax.set(ylabel="rate", title="Back-test per risk grade")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "backtest.png", dpi=110)
        names.append("backtest.png")
    return names


def _score_plot(now: np.ndarray, reference: dict[str, Any], out: Path) -> str:
    """Today's PDs against the training population, in the reference's own bins."""
    bins = BinnedDistribution.from_dict(reference)
    shares_now, _ = shares_in(bins, now)
    edges = [0.0, *bins.edges, 1.0]
    labels = [f"{edges[i] * 100:.1f}-{edges[i + 1] * 100:.1f} %" for i in range(len(edges) - 1)]
    x = np.arange(len(labels))
    fig, ax = _subplots((7, 3.8))
    ax.bar(x - 0.2, bins.shares, 0.4, label=f"training population (n={bins.count:,})")
    ax.bar(x + 0.2, shares_now, 0.4, label=f"decisions now (n={len(now):,})")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set(
        ylabel="share of applications",
        xlabel="probability of default (training deciles)",
        title="Score distribution: now against the training population",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "score_distribution.png", dpi=110)
    return "score_distribution.png"


def write_monitoring_report(result: MonitoringResult, *, run_dir: Path, title: str) -> Path:
    """Write ``monitoring.md``, ``monitoring.json`` and the plots into ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(result, run_dir)
    summary = pd.DataFrame(
        {"figure": list(result.summary), "value": [str(v) for v in result.summary.values()]}
    )
    lines = [f"# {title}", "", "## Summary", "", _table(summary), ""]
    if result.notes:
        lines += ["Notes:", "", *[f"- {n}" for n in result.notes], ""]
    lines += [
        *[f"![{p}]({p})" for p in plots],
        "",
        "## Feature drift (PSI)",
        "",
        "PSI below 0.1 reads stable, 0.1-0.25 a moderate shift, above 0.25 a major shift; "
        f"with fewer than {MIN_VALUES_FOR_VERDICT} values no verdict is given, and a PSI "
        "below `noise_95` (what samples of the training population itself reach) is "
        "sampling noise.",
        "",
        _table(result.feature_psi),
        "",
        "## Approval rate by week",
        "",
        _table(result.approval_by_week),
        "",
        "## Back-test: predicted PD against realised defaults per grade",
        "",
        _table(result.backtest),
        "",
        "## Human reviews: overturn rate per reason code",
        "",
        _table(result.overturns),
        "",
    ]
    path = run_dir / "monitoring.md"
    path.write_text("\n".join(lines))
    (run_dir / "monitoring.json").write_text(
        json.dumps(
            {
                "summary": result.summary,
                "notes": result.notes,
                "feature_psi": result.feature_psi.to_dict(orient="records"),
                "backtest": result.backtest.to_dict(orient="records"),
                "overturns": result.overturns.to_dict(orient="records"),
            },
            indent=2,
            default=str,
        )
    )
    return path
