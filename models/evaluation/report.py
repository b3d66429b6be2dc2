"""Evaluate candidates on the newest applications and write a Markdown report with plots.

Truth (``truth/applications_truth.parquet`` of a generated world) is read here only, never
by training: it gives the ceiling AUC of the true PDs and the calibration against them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.world_folder import TRUTH_FILE, read_frame
from models.evaluation import metrics as m
from models.evaluation.fairness import NOT_JUDGED
from models.training.scoring_model import ScoringModel

DEFAULT_CUTOFFS = (0.05, 0.10, 0.15, 0.20)
ADDITIVITY_TOLERANCE = 1e-6
SHAP_SAMPLE = 2000


class AdditivityError(AssertionError):
    """SHAP contributions do not add up to the model output."""


@dataclass
class Evaluation:
    """Metrics and tables of one model on one evaluation slice."""

    kind: str
    metrics: dict[str, float]
    calibration: pd.DataFrame
    cutoffs: pd.DataFrame
    segments: dict[str, pd.DataFrame]
    plots: dict[str, str] = field(default_factory=dict)


def read_truth(world_dir: Path | None) -> pd.Series | None:
    """True PD per application id, when the folder is a generated world with truth."""
    if world_dir is None:
        return None
    if not (Path(world_dir) / TRUTH_FILE).exists():
        return None
    truth = read_frame(world_dir, TRUTH_FILE, columns=["application_id", "true_pd"])
    return truth.set_index("application_id")["true_pd"]


def shap_additivity(model: ScoringModel, features: pd.DataFrame) -> dict[str, float]:
    """Largest gaps between contributions plus base value and the model's log-odds.

    For the booster this runs SHAP's own TreeExplainer (independent of LightGBM's built-in
    TreeSHAP used when serving) against the raw margin; for every model it checks that the
    served explanation adds up to ``logit(PD)``.
    """
    out: dict[str, float] = {}
    raw = model.raw_log_odds(features)
    if model.kind == "lightgbm":
        import shap

        explainer = shap.TreeExplainer(model.estimator)
        # SHAP's call API: ``shap_values`` warns on every LightGBM binary model that its
        # output shape changed, which the call API does not.
        explanation = explainer(model.matrix(features))
        values = np.asarray(explanation.values)
        expected = float(np.ravel(explanation.base_values)[0])
        out["shap_raw_max_gap"] = float(np.max(np.abs(values.sum(axis=1) + expected - raw)))
        _, served = model.raw_contributions(features)
        out["shap_vs_served_max_gap"] = float(np.max(np.abs(served.to_numpy() - values)))
    base, contrib = model.explain(features)
    pd_ = model.predict_pd(features)
    out["explain_logit_max_gap"] = float(
        np.max(np.abs(base + contrib.sum(axis=1).to_numpy() - np.log(pd_ / (1 - pd_))))
    )
    return out


def evaluate_model(
    model: ScoringModel,
    evaluation: pd.DataFrame,
    *,
    target: str,
    key: str,
    truth: pd.Series | None = None,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    bootstrap_resamples: int = 200,
    seed: int = 0,
) -> Evaluation:
    """All metrics of one model on the evaluation slice."""
    y = evaluation[target].to_numpy(np.float64)
    p = model.predict_pd(evaluation)
    out: dict[str, float] = {
        "evaluation_rows": float(len(y)),
        "default_rate": float(y.mean()),
        "mean_pd": float(p.mean()),
    }
    auc_ci = m.bootstrap_interval(m.auc, y, p, resamples=bootstrap_resamples, seed=seed)
    out.update(auc_ci.as_dict("auc"))
    out.update(
        gini=2 * auc_ci.estimate - 1,
        gini_ci_low=2 * auc_ci.low - 1,
        gini_ci_high=2 * auc_ci.high - 1,
    )
    out.update(ks=m.ks_statistic(y, p), brier=m.brier(y, p), ece=m.expected_calibration_error(y, p))
    segments = {}
    for column in ("bureau_class_rank", "thin_file"):
        if column in evaluation.columns:
            segments[column] = m.segment_table(y, p, evaluation[column])
    if truth is not None:
        true_pd = truth.reindex(evaluation[key].to_numpy())
        if true_pd.isna().any():
            raise ValueError(f"{int(true_pd.isna().sum())} evaluation applications lack a true PD")
        t = true_pd.to_numpy(np.float64)
        out["truth_ceiling_auc"] = m.auc(y, t)
        gap = m.paired_difference_interval(m.auc, y, t, p, resamples=bootstrap_resamples, seed=seed)
        out.update(gap.as_dict("auc_gap_to_ceiling"))
        out.update(m.truth_calibration(t, p))
    sample = evaluation.iloc[: min(SHAP_SAMPLE, len(evaluation))]
    out.update(shap_additivity(model, sample))
    return Evaluation(
        kind=model.kind,
        metrics=out,
        calibration=m.calibration_table(y, p),
        cutoffs=m.cutoff_table(y, p, cutoffs),
        segments=segments,
    )


def check_additivity(evaluation: Evaluation, tolerance: float = ADDITIVITY_TOLERANCE) -> None:
    """Raise when any additivity gap exceeds the tolerance."""
    gaps = {k: v for k, v in evaluation.metrics.items() if k.endswith("_max_gap")}
    bad = {k: v for k, v in gaps.items() if not v <= tolerance}
    if bad:
        raise AdditivityError(f"{evaluation.kind}: contributions do not add up: {bad}")


def _plots(
    model: ScoringModel, evaluation: pd.DataFrame, result: Evaluation, target: str, out_dir: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cal = result.calibration
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    top = max(cal["mean_pd"].max(), cal["observed"].max()) * 1.05
    ax.plot([0, top], [0, top], color="grey", lw=1, ls="--")
    ax.plot(cal["mean_pd"], cal["observed"], marker="o")
    ax.set(
        xlabel="predicted PD (bin mean)",
        ylabel="observed default rate",
        title=f"Calibration: {model.kind}",
    )
    fig.tight_layout()
    name = f"calibration_{model.kind}.png"
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    result.plots["calibration"] = name

    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(evaluation[target], model.predict_pd(evaluation))
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.plot(fpr, tpr)
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title=f"ROC: {model.kind} (AUC {result.metrics['auc']:.3f})",
    )
    fig.tight_layout()
    name = f"roc_{model.kind}.png"
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    result.plots["roc"] = name

    import shap

    sample = evaluation.iloc[: min(SHAP_SAMPLE, len(evaluation))]
    _, contrib = model.explain(sample)
    plt.figure()
    encoded = pd.DataFrame(model.matrix(sample), columns=model.feature_names)
    # Its own generator for the beeswarm's jitter: the plot is the same every run, whatever
    # else seeded NumPy's global one.
    shap.summary_plot(
        contrib.to_numpy(), encoded, show=False, max_display=15, plot_size=(7, 6),
        rng=np.random.default_rng(0),
    )  # fmt: skip
    plt.title(f"SHAP (calibrated log-odds): {model.kind}")
    plt.tight_layout()
    name = f"shap_summary_{model.kind}.png"
    plt.savefig(out_dir / name, dpi=110)
    plt.close("all")
    result.plots["shap_summary"] = name


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(
    *,
    run_dir: Path,
    title: str,
    models: dict[str, ScoringModel],
    evaluation: pd.DataFrame,
    evaluations: dict[str, Evaluation],
    target: str,
    context: dict[str, Any],
    recommended: str,
    fairness: dict | None = None,
    cross_validation: Any = None,
) -> Path:
    """Write ``report.md`` with plots and ``metrics.json`` into ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for kind, model in models.items():
        _plots(model, evaluation, evaluations[kind], target, run_dir)
    fairness = fairness or {}

    basis = (
        "best mean AUC over the cross-validation folds"
        if cross_validation is not None
        else "highest evaluation AUC"
    )
    lines = [f"# {title}", ""]
    for key, value in context.items():
        lines.append(f"- **{key}**: {value}")
    lines += ["", f"Recommended candidate: **{recommended}** ({basis}).", ""]
    headline = [
        "auc",
        "auc_ci_low",
        "auc_ci_high",
        "gini",
        "ks",
        "brier",
        "ece",
        "truth_ceiling_auc",
        "auc_gap_to_ceiling",
        "truth_mean_abs_pd_error",
        "truth_ece",
        "default_rate",
        "mean_pd",
    ]
    summary = pd.DataFrame(
        {kind: {k: ev.metrics.get(k, np.nan) for k in headline} for kind, ev in evaluations.items()}
    ).reset_index(names="metric")
    lines += [
        "## Headline metrics (the held-out evaluation slice)",
        "",
        _table(summary),
        "",
        "AUC intervals are 95 % percentile bootstrap intervals over applications. ECE is "
        "the count-weighted gap between predicted and observed default rates over ten "
        "equal-count PD bins; `truth_*` compare predicted with the generator's true PDs.",
        "",
    ]
    lines += [
        "## Explanations",
        "",
        "Contributions are SHAP values of the raw log-odds (TreeSHAP for the booster, "
        "exact linear contributions of WoE terms for the scorecard) multiplied by the "
        "Platt slope, so base value plus contributions equals logit(PD) exactly. "
        f"Checked on up to {SHAP_SAMPLE} applications (tolerance "
        f"{ADDITIVITY_TOLERANCE:g}):",
        "",
    ]
    for kind, ev in evaluations.items():
        gaps = ", ".join(
            f"{k} = {v:.2e}"
            for k, v in ev.metrics.items()
            if k.endswith("_gap") and k != "auc_gap_to_ceiling"
        )
        lines.append(f"- {kind}: {gaps}")
    lines.append("")
    for kind, ev in evaluations.items():
        lines += [
            f"## Candidate: {kind}",
            "",
            f"![ROC]({ev.plots['roc']}) ![Calibration]({ev.plots['calibration']})",
            "",
            f"![SHAP summary]({ev.plots['shap_summary']})",
            "",
            "### Approval at PD cut-offs",
            "",
            _table(ev.cutoffs),
            "",
            "### Calibration bins",
            "",
            _table(ev.calibration),
            "",
        ]
        for name, table in ev.segments.items():
            lines += [f"### By {name}", "", _table(table), ""]
    lines += _cross_validation_section(cross_validation, recommended)
    lines += _fairness_section(fairness, run_dir)
    path = run_dir / "report.md"
    path.write_text("\n".join(lines))
    (run_dir / "metrics.json").write_text(
        json.dumps({k: ev.metrics for k, ev in evaluations.items()}, indent=2)
    )
    return path


def _cross_validation_section(cross_validation: Any, recommended: str) -> list[str]:
    if cross_validation is None:
        return []
    from models.evaluation.baselines import BASELINES

    summary = cross_validation.summary().reset_index(names="model")
    best_baseline, baseline_auc = cross_validation.best(BASELINES)
    candidate_auc = float(summary.set_index("model").loc[recommended, "auc_mean"])
    candidate_ece = float(summary.set_index("model").loc[recommended, "ece_mean"])
    baseline_ece = float(summary.set_index("model").loc[best_baseline, "ece_mean"])
    verdict = "matches or beats" if candidate_auc >= baseline_auc else "falls SHORT of"
    differences = cross_validation.calibration_verdict(recommended, best_baseline)
    calibration = [f"- {d.describe()}" for d in differences]
    return [
        "## Cross-validation beside plain baselines",
        "",
        f"Folds: {cross_validation.method}. Every fold fits the candidates exactly as this "
        "run does and two plain baselines on the same rows: `logistic_onehot` (logistic "
        "regression on one-hot categories and standardised numbers) and "
        "`optbinning_scorecard` (optbinning's binning, categorical where the feature is, and "
        "a logistic regression on WoE); neither has a calibration step. Mean and standard "
        "deviation over folds:",
        "",
        _table(summary),
        "",
        f"The recommended candidate **{recommended}** (mean AUC {candidate_auc:.4f}, ECE "
        f"{candidate_ece:.4f}) {verdict} the best baseline **{best_baseline}** (mean AUC "
        f"{baseline_auc:.4f}, ECE {baseline_ece:.4f}).",
        "",
        "Calibration beside that baseline, fold by fold (candidate minus baseline; lower is "
        "better; the interval is corrected for folds sharing training rows). *No worse* "
        "means the interval does not lie wholly above zero:",
        "",
        *calibration,
        "",
    ]


def _fairness_section(fairness: dict, run_dir: Path) -> list[str]:
    if not fairness:
        return [
            "## Fairness (R14)",
            "",
            "Not computed: the run had no protected attributes kept aside.",
            "",
        ]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(fairness.values()))
    lines = [
        "## Fairness (R14)",
        "",
        "Protected attributes (in a world: age band from the birth date at the application "
        "day, sex and home language; in a snapshot: the fields its contract keeps as "
        "`modelUse: protected`) are kept apart from training data and joined only here. "
        f"Approval means PD below {first.approve_below:g}. A gap is the largest difference "
        f"between two groups of at least {first.min_group_size} applications (`judged`); "
        "rates carry 95 % Wilson intervals (`_low`, `_high`). An attribute with fewer than "
        f"two judged groups is **{NOT_JUDGED}**: no gate passes on it.",
        "",
    ]
    for kind, report in fairness.items():
        lines += [f"### {kind}", "", f"Computed on {report.basis}.", ""]
        gaps = pd.DataFrame(report.gaps).T.reset_index(names="attribute")
        gaps["verdict"] = [report.verdict(a) for a in gaps["attribute"]]
        lines += ["Gaps:", "", _table(gaps), ""]
        fig, axes = plt.subplots(1, len(report.by_group), figsize=(4 * len(report.by_group), 3.4))
        for ax, (attribute, table) in zip(
            np.atleast_1d(axes), report.by_group.items(), strict=True
        ):
            lines += [f"By {attribute}:", "", _table(table), ""]
            ax.bar(table[attribute].astype(str), table["approval_rate"], color="#4c72b0")
            ax.set(title=attribute, ylim=(0, 1), ylabel="approval rate")
            ax.tick_params(axis="x", rotation=30)
        fig.suptitle(f"Approval rate by group: {kind}")
        fig.tight_layout()
        name = f"fairness_{kind}.png"
        fig.savefig(run_dir / name, dpi=110)
        plt.close(fig)
        lines += [f"![Approval by group]({name})", ""]
        (run_dir / f"fairness_{kind}.json").write_text(
            json.dumps(
                {
                    "approve_below": report.approve_below,
                    "min_group_size": report.min_group_size,
                    "gaps": report.gaps,
                    "by_group": {
                        a: t.to_dict(orient="records") for a, t in report.by_group.items()
                    },
                },
                indent=2,
                default=float,
            )
        )
    return lines
