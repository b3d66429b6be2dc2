"""Monitoring analysis and report: drift, approval and overturn rates by week, back-test per
grade, review overturns; thresholds from the model card's monitoring plan.

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
    BinnedDistribution,
    psi,
    psi_noise,
    psi_reading,
    shares_in,
)
from models.monitoring.plan import MonitoringPlan
from scoring.storage.monitoring_inputs import MonitoringInputs

OVERTURNED = ("overturned", "terms_changed")
# A referral asks a person to decide what the engine did not: deciding it overturns nothing.
NOT_AN_OVERTURN_KIND = "referral"
Z95 = 1.959963984540054
READING_COLOURS = {
    "major shift": "#c44e52",
    "moderate shift": "#dd8452",
    "stable": "#4c72b0",
    "within sampling noise": "#4c72b0",
}
WEEK_COLUMNS = [
    "week",
    "decisions",
    "approved",
    "approval_rate",
    "approval_low",
    "approval_high",
    "reviewed_automated",
    "overturned",
    "overturn_rate",
    "overturn_low",
    "overturn_high",
]


@dataclass
class MonitoringResult:
    """Every table of the report; empty tables mean the source had nothing yet."""

    summary: dict[str, Any]
    feature_psi: pd.DataFrame
    # Approval and overturn rates per week of the decision, with 95 % Wilson intervals.
    by_week: pd.DataFrame
    backtest: pd.DataFrame
    overturns: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # Today's PDs and the training population's binned PDs, for the distribution plot.
    score_now: np.ndarray | None = None
    score_reference: dict[str, Any] | None = None
    plan: MonitoringPlan = field(default_factory=MonitoringPlan)


def feature_drift(
    reference: dict[str, Any], features: pd.DataFrame, plan: MonitoringPlan | None = None
) -> pd.DataFrame:
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
                "reading": _reading(value, len(values), noise, plan or MonitoringPlan()),
            }
        )
    table = pd.DataFrame(rows, columns=["feature", "psi", "noise_95", "reading"])
    return table.sort_values("psi", ascending=False).reset_index(drop=True)


def _reading(value: float, n: int, noise: float, plan: MonitoringPlan) -> str:
    return psi_reading(
        value,
        n=n,
        noise=noise,
        moderate=plan.psi_moderate,
        major=plan.psi_major,
        min_values=plan.min_values_for_verdict,
    )


def wilson(count: int, total: int) -> tuple[float, float]:
    """The 95 % Wilson interval of ``count`` out of ``total`` (NaN for none)."""
    if total <= 0:
        return (float("nan"), float("nan"))
    p = count / total
    centre = (p + Z95**2 / (2 * total)) / (1 + Z95**2 / total)
    half = Z95 * np.sqrt(p * (1 - p) / total + Z95**2 / (4 * total**2)) / (1 + Z95**2 / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rates_by_week(decisions: pd.DataFrame, reviews: pd.DataFrame | None) -> pd.DataFrame:
    """Approval rate and overturn rate per week (Monday) of the decision, with intervals.

    The overturn rate is, among the automated decisions of the week that a person has
    reviewed to the end (a contest, an objection, a requested review; a referral is a person
    deciding in the first place, not an overturn), the share the reviewer changed
    (``overturned`` or ``terms_changed``). Counted by the week of the automated decision.
    """
    if decisions.empty:
        return pd.DataFrame(columns=WEEK_COLUMNS)
    week = decisions["decided_at"].dt.tz_convert(None).dt.to_period("W-SUN").dt.start_time
    frame = decisions.assign(week=week.dt.date, approved=decisions["outcome"] == "approve")
    reviewed = pd.Series(False, index=frame.index)
    overturned = pd.Series(False, index=frame.index)
    if reviews is not None and not reviews.empty:
        resolved = reviews["status"] == "resolved"
        done = reviews[resolved & (reviews["kind"] != NOT_AN_OVERTURN_KIND)]
        changed = set(done.loc[done["outcome"].isin(OVERTURNED), "decision_id"])
        automated = frame["automated"].fillna(False).astype(bool)
        reviewed = automated & frame["decision_id"].isin(set(done["decision_id"]))
        overturned = reviewed & frame["decision_id"].isin(changed)
    frame = frame.assign(reviewed=reviewed, overturned=overturned)
    rows = []
    for when, group in frame.groupby("week"):
        n, approved = len(group), int(group["approved"].sum())
        seen, changed_n = int(group["reviewed"].sum()), int(group["overturned"].sum())
        a_low, a_high = wilson(approved, n)
        o_low, o_high = wilson(changed_n, seen)
        rows.append(
            {
                "week": when,
                "decisions": n,
                "approved": approved,
                "approval_rate": round(approved / n, 4),
                "approval_low": round(a_low, 4),
                "approval_high": round(a_high, 4),
                "reviewed_automated": seen,
                "overturned": changed_n,
                "overturn_rate": round(changed_n / seen, 4) if seen else float("nan"),
                "overturn_low": round(o_low, 4),
                "overturn_high": round(o_high, 4),
            }
        )
    return pd.DataFrame(rows, columns=WEEK_COLUMNS)


def backtest(decisions: pd.DataFrame, plan: MonitoringPlan | None = None) -> pd.DataFrame:
    """Mean predicted PD against the realised default rate per risk grade.

    Only decisions whose application has a known 12-month outcome count; ``z`` is the gap in
    binomial standard errors of the predicted rate; ``look`` marks |z| above the plan's bound.
    """
    bound = (plan or MonitoringPlan()).backtest_z
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
                "look": "yes" if abs((realised - predicted) / se) > bound else "no",
            }
        )
    return pd.DataFrame(
        rows,
        columns=["risk_grade", "with_outcome", "mean_pd", "realised_default_rate", "z", "look"],
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


def analyse(
    *,
    inputs: MonitoringInputs,
    reference: dict[str, Any],
    plan: MonitoringPlan | None = None,
) -> MonitoringResult:
    """Compare recent decisions with the training population of the model that made them.

    ``plan`` holds the thresholds (the model card's monitoring plan; defaults without one).
    """
    plan = plan or MonitoringPlan()
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
        summary["score_reading"] = _reading(value, len(scored), noise, plan)
        if len(scored) < plan.min_values_for_verdict:
            notes.append(
                f"Only {len(scored)} scored decisions: PSI at this size is mostly sampling "
                f"noise (95 % of samples of the training population itself stay below "
                f"{noise:.2f}), so no drift verdict is given below "
                f"{plan.min_values_for_verdict} values; read the figures and the plots, not "
                "the words."
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
        feature_psi = feature_drift(reference, inputs.features, plan)
    else:
        feature_psi = pd.DataFrame(columns=["feature", "psi", "reading"])
        notes.append("No stored feature values (decision_inputs): feature drift not computed.")
    table = backtest(decisions, plan)
    if table.empty:
        notes.append("No decision has a realised 12-month outcome yet: back-test empty.")
    overturns = review_overturns(decisions, inputs.reviews)
    if inputs.reviews is None:
        notes.append("No review_cases table: overturn rates not computed.")
    elif overturns.empty:
        notes.append("No resolved human review among these decisions yet.")
    by_week = rates_by_week(decisions, inputs.reviews)
    reviewed = int(by_week["reviewed_automated"].sum()) if len(by_week) else 0
    if reviewed:
        overturned = int(by_week["overturned"].sum())
        summary["overturn_rate"] = round(overturned / reviewed, 4)
        summary["reviewed_automated_decisions"] = reviewed
        high = by_week[by_week["overturn_rate"] > plan.overturn_rate_alert]
        for row in high.itertuples(index=False):
            notes.append(
                f"Week of {row.week}: reviewers overturned {row.overturned} of "
                f"{row.reviewed_automated} automated decisions reviewed "
                f"({row.overturn_rate:.0%}), above the plan's {plan.overturn_rate_alert:.0%}"
                + (" (too few reviews to be sure)" if row.reviewed_automated < 20 else "")
                + "."
            )
    summary["thresholds_from"] = plan.source
    result = MonitoringResult(summary, feature_psi, by_week, table, overturns, notes)
    result.score_now = scored.to_numpy(np.float64)
    result.score_reference = reference.get("score")
    result.plan = plan
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


def _subplots(
    figsize: tuple[float, float], nrows: int = 1, ncols: int = 1, **options: Any
) -> tuple[Any, Any]:
    """A figure and its axes, drawn by Agg without pyplot (whose import costs a second)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **options)


def _plots(result: MonitoringResult, out: Path) -> list[str]:
    names = []
    if not result.feature_psi.empty:
        from data_contracts.feature_catalogue import feature_label

        top = result.feature_psi.head(15).iloc[::-1]
        fig, ax = _subplots((7, 4.8))
        plan = result.plan
        # Colour by the verdict, not the raw figure: a PSI on too few values is no alarm.
        colors = [READING_COLOURS.get(reading, "#999999") for reading in top["reading"]]
        ax.barh([feature_label(f) for f in top["feature"]], top["psi"], color=colors)
        ax.axvline(plan.psi_moderate, color="grey", ls="--", lw=1, label="moderate (card)")
        ax.axvline(plan.psi_major, color="grey", ls=":", lw=1, label="major (card)")
        ax.legend(fontsize=7, loc="lower right")
        title = "Feature drift"
        if (top["reading"].str.startswith("too few")).all():
            title += f" (grey: fewer than {plan.min_values_for_verdict} values, no verdict)"
        ax.set(xlabel="PSI against the training population", title=title)
        ax.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        fig.savefig(out / "feature_psi.png", dpi=110)
        names.append("feature_psi.png")
    if result.score_now is not None and len(result.score_now) and result.score_reference:
        names.append(_score_plot(result.score_now, result.score_reference, out))
    if not result.by_week.empty:
        names.append(_rates_plot(result, out))
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


def _rates_plot(result: MonitoringResult, out: Path) -> str:
    """Approval and overturn rate per week, one above the other on the same weeks.

    A categorical axis of the weeks that had decisions (a few weeks never stretch over
    years), rates from 0 to 100 % with their 95 % intervals, and the count each rests on.
    """
    from matplotlib.ticker import PercentFormatter

    week = result.by_week
    x = np.arange(len(week))
    width = max(5.0, 0.45 * len(week) + 2)
    fig, (top, bottom) = _subplots((width, 5.6), 2, 1, sharex=True)
    approval = week["approval_rate"].to_numpy(float)
    top.errorbar(
        x,
        approval,
        yerr=[approval - week["approval_low"], week["approval_high"] - approval],
        fmt="o-",
        color="#4c72b0",
        capsize=3,
        label="approval rate (95 % interval)",
    )
    for i, (rate, count) in enumerate(zip(approval, week["decisions"], strict=True)):
        top.annotate(f"n={count}", (i, rate), textcoords="offset points", xytext=(6, 0),
                     ha="left", va="center", fontsize=7)  # fmt: skip
    ref = result.summary.get("reference_approval_rate")
    if ref is not None:
        top.axhline(ref, color="grey", ls="--", lw=1, label="training population (model only)")
    # Head-room above 100 % keeps the legend off the points.
    ticks = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    top.set(
        ylim=(0, 1.3), yticks=ticks, ylabel="approved", title="Approval rate by week of decision"
    )
    top.yaxis.set_major_formatter(PercentFormatter(1.0))
    top.legend(loc="upper center", ncol=2, fontsize=7)
    reviewed = week["reviewed_automated"].to_numpy(int)
    rate = week["overturn_rate"].to_numpy(float)
    has = reviewed > 0
    if has.any():
        bottom.errorbar(
            x[has],
            rate[has],
            yerr=[
                (rate - week["overturn_low"].to_numpy(float))[has],
                (week["overturn_high"].to_numpy(float) - rate)[has],
            ],
            fmt="s-",
            color="#c44e52",
            capsize=3,
            label="overturned by a reviewer (95 % interval)",
        )
        for i in np.flatnonzero(has):
            bottom.annotate(
                f"{week['overturned'].iloc[i]}/{reviewed[i]}",
                (i, rate[i]),
                textcoords="offset points",
                xytext=(6, 0),
                ha="left",
                va="center",
                fontsize=7,
            )
        bottom.axhline(
            result.plan.overturn_rate_alert, color="grey", ls=":", lw=1, label="alert (card)"
        )
        bottom.legend(loc="upper center", ncol=2, fontsize=7)
    else:
        bottom.text(0.5, 0.5, "no automated decision reviewed to the end yet",
                    transform=bottom.transAxes, ha="center", va="center", color="grey")  # fmt: skip
    bottom.set(
        ylim=(0, 1.3),
        yticks=ticks,
        ylabel="overturned",
        title="Overturn rate of automated decisions",
    )
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0))
    bottom.set_xticks(
        x, [f"{pd.Timestamp(w):%Y-%m-%d}" for w in week["week"]], rotation=45, ha="right",
        fontsize=8,
    )  # fmt: skip
    bottom.set_xlabel("week (Monday)")
    fig.tight_layout()
    fig.savefig(out / "rates_by_week.png", dpi=110)
    return "rates_by_week.png"


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
    plan = result.plan
    lines = [
        f"# {title}",
        "",
        f"Thresholds: {plan.source}: PSI moderate from {plan.psi_moderate:g}, major from "
        f"{plan.psi_major:g}; no verdict below {plan.min_values_for_verdict} values; back-test "
        f"|z| above {plan.backtest_z:g}; overturn rate above {plan.overturn_rate_alert:.0%}.",
        "",
        "## Summary",
        "",
        _table(summary),
        "",
    ]
    if result.notes:
        lines += ["Notes:", "", *[f"- {n}" for n in result.notes], ""]
    lines += [
        *[f"![{p}]({p})" for p in plots],
        "",
        "## Feature drift (PSI)",
        "",
        f"PSI below {plan.psi_moderate:g} reads stable, {plan.psi_moderate:g}-"
        f"{plan.psi_major:g} a moderate shift, above {plan.psi_major:g} a major shift; with "
        f"fewer than {plan.min_values_for_verdict} values no verdict is given, and a PSI "
        "below `noise_95` (what samples of the training population itself reach) is "
        "sampling noise.",
        "",
        _table(result.feature_psi),
        "",
        "## Approval and overturn rate by week",
        "",
        "Per week (Monday) of the decision; `_low`/`_high` are 95 % Wilson intervals. "
        "`reviewed_automated` counts automated decisions a reviewer has resolved (contests, "
        "objections, requested reviews); `overturn_rate` is the share the reviewer changed.",
        "",
        _table(result.by_week),
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
                "plan": result.plan.as_tags() | {"source": result.plan.source},
                "by_week": result.by_week.to_dict(orient="records"),
                "feature_psi": result.feature_psi.to_dict(orient="records"),
                "backtest": result.backtest.to_dict(orient="records"),
                "overturns": result.overturns.to_dict(orient="records"),
            },
            indent=2,
            default=str,
        )
    )
    return path
