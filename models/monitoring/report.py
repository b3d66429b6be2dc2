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

from models.monitoring.drift import BinnedDistribution, psi, psi_reading
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


def feature_drift(reference: dict[str, Any], features: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature against the reference bins, worst first."""
    rows = []
    for name, ref in reference["features"].items():
        if name not in features.columns:
            continue
        value = psi(BinnedDistribution.from_dict(ref), features[name].to_numpy(np.float64))
        rows.append({"feature": name, "psi": value, "reading": psi_reading(value)})
    table = pd.DataFrame(rows, columns=["feature", "psi", "reading"])
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
        "reference_mean_pd": reference.get("mean_pd"),
        "mean_pd": float(scored.mean()) if len(scored) else None,
    }
    if len(scored):
        summary["score_psi"] = psi(BinnedDistribution.from_dict(reference["score"]), scored)
        summary["score_reading"] = psi_reading(summary["score_psi"])
    else:
        notes.append("No decision carries a model PD yet: score drift not computed.")
    if "approval_rate" in reference and len(decisions):
        approved = float((decisions["outcome"] == "approve").mean())
        summary["approval_rate"] = approved
        summary["reference_approval_rate"] = reference["approval_rate"]
        summary["approval_rate_drift"] = approved - reference["approval_rate"]
        # What the model alone would approve at the same cut-off, to separate model drift
        # from policy rules and human review.
        if len(scored):
            summary["model_approval_rate"] = float((scored < reference["approve_below"]).mean())
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
    return MonitoringResult(
        summary, feature_psi, approval_by_week(decisions), table, overturns, notes
    )


def _table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_"
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plots(result: MonitoringResult, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    if not result.feature_psi.empty:
        top = result.feature_psi.head(15).iloc[::-1]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        colors = [
            "#c44e52" if v >= 0.25 else "#dd8452" if v >= 0.1 else "#4c72b0" for v in top["psi"]
        ]
        ax.barh(top["feature"], top["psi"], color=colors)
        ax.axvline(0.1, color="grey", ls="--", lw=1)
        ax.axvline(0.25, color="grey", ls=":", lw=1)
        ax.set(xlabel="PSI against the training population", title="Feature drift")
        fig.tight_layout()
        fig.savefig(out / "feature_psi.png", dpi=110)
        plt.close(fig)
        names.append("feature_psi.png")
    if not result.approval_by_week.empty:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        week = result.approval_by_week
        ax.plot(pd.to_datetime(week["week"]), week["approval_rate"], marker="o", label="decided")
        ref = result.summary.get("reference_approval_rate")
        if ref is not None:
            ax.axhline(ref, color="grey", ls="--", label="training population (model only)")
        ax.set(ylim=(0, 1), ylabel="approval rate", title="Approval rate by week")
        ax.legend(loc="lower left")
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(out / "approval_by_week.png", dpi=110)
        plt.close(fig)
        names.append("approval_by_week.png")
    if not result.backtest.empty:
        bt = result.backtest
        x = np.arange(len(bt))
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.bar(x - 0.2, bt["mean_pd"], 0.4, label="mean predicted PD")
        ax.bar(x + 0.2, bt["realised_default_rate"], 0.4, label="realised default rate")
        ax.set_xticks(x, bt["risk_grade"])
        ax.set(ylabel="rate", title="Back-test per risk grade")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "backtest.png", dpi=110)
        plt.close(fig)
        names.append("backtest.png")
    return names


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
        "PSI below 0.1 reads stable, 0.1-0.25 a moderate shift, above 0.25 a major shift.",
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
