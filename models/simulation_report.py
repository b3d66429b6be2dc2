"""The simulation report: one self-contained HTML page with plots, a JSON summary, MLflow.

Drawn from ``SimulationResult.to_dict()`` (:mod:`scoring.service.simulation`), so this
module needs nothing from the service layer. Figures are rounded for reading; the JSON keeps
the counts.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

OUTCOME_WORDS = {
    "approve": "approve",
    "refer": "refer",
    "decline": "decline",
    "pending_review": "pending review",
}
SIMULATION_EXPERIMENT = "installment-simulations"


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(summary: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    plots: dict[str, str] = {}
    outcomes = list(OUTCOME_WORDS)
    matrix = np.array([[summary["flip_matrix"][b][a] for a in outcomes] for b in outcomes])
    figure, axes = plt.subplots(figsize=(5.2, 4.2))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(4), [OUTCOME_WORDS[o] for o in outcomes], rotation=20)
    axes.set_yticks(range(4), [OUTCOME_WORDS[o] for o in outcomes])
    axes.set_xlabel("after (candidate)")
    axes.set_ylabel("before (live)")
    for i in range(4):
        for j in range(4):
            axes.text(j, i, str(matrix[i, j]), ha="center", va="center",
                      color="white" if matrix[i, j] > matrix.max() / 2 else "black")  # fmt: skip
    axes.set_title("Outcomes before and after")
    plots["flips"] = _png(figure)

    before = summary["probabilities_before"]
    after = summary["probabilities_after"]
    if before:
        figure, axes = plt.subplots(figsize=(6.4, 3.6))
        top = float(np.quantile(np.array(before + after), 0.99)) if after else max(before)
        bins = np.linspace(0, max(top, 0.2), 40)
        axes.hist(before, bins=bins, alpha=0.55, label=f"live model {summary['live']['model']}")
        if summary["candidate"]["model"] != summary["live"]["model"]:
            axes.hist(after, bins=bins, alpha=0.55,
                      label=f"candidate model {summary['candidate']['model']}")  # fmt: skip
        cutoffs = summary.get("cutoffs", {})
        names = ("approve below", "decline from")
        live_cuts, candidate_cuts = cutoffs.get("live", []), cutoffs.get("candidate", [])
        for i, name in enumerate(names):
            lines = [(who, cuts[i]) for who, cuts in (("live", live_cuts), ("candidate",
                     candidate_cuts)) if len(cuts) > i]  # fmt: skip
            # A cut-off the change leaves alone is one line, labelled once.
            if len(lines) == 2 and lines[0][1] == lines[1][1]:
                lines = [("live and candidate", lines[0][1])]
            for who, value in lines:
                style = "--" if who == "live" else "-"
                axes.axvline(value, linestyle=style, color="black", linewidth=1)
                axes.text(value, axes.get_ylim()[1] * 0.95, f" {who}: {name} {value:.2f}",
                          fontsize=7, va="top", rotation=90)  # fmt: skip
        axes.set_xlabel("probability of default (12 months)")
        axes.set_ylabel("applications")
        axes.legend()
        axes.set_title("Probabilities of default of the period, with the cut-offs")
        plots["probabilities"] = _png(figure)

    rows = [r for r in summary["segments"] if r["applications"] >= 1]
    if rows:
        figure, axes = plt.subplots(figsize=(7.2, 0.28 * len(rows) + 1.2))
        labels = [f"{r['segment']}: {r['value']} (n={r['applications']})" for r in rows]
        y = np.arange(len(rows))
        for offset, key, label in ((-0.2, "approval_before", "before"),
                                   (0.2, "approval_after", "after")):  # fmt: skip
            values = [r[key]["value"] or 0 for r in rows]
            low = [max(0.0, (r[key]["value"] or 0) - (r[key]["low"] or 0)) for r in rows]
            high = [max(0.0, (r[key]["high"] or 0) - (r[key]["value"] or 0)) for r in rows]
            axes.barh(y + offset, values, height=0.4, xerr=[low, high], label=label,
                      error_kw={"elinewidth": 0.8})  # fmt: skip
        axes.set_yticks(y, labels, fontsize=8)
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.set_xlabel("approval rate (95 % interval)")
        axes.legend(loc="lower right")
        axes.set_title("Approval rate per segment, before and after")
        plots["segments"] = _png(figure)
    return plots


def _day(moment: str) -> str:
    """An ISO time as the day, with the time of day only when it is not midnight UTC."""
    from datetime import datetime

    parsed = datetime.fromisoformat(moment)
    if (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0):
        return f"{parsed:%Y-%m-%d}"
    return f"{parsed:%Y-%m-%d %H:%M} UTC"


def _money(value: float) -> str:
    return f"{value:,.0f} EUR".replace(",", " ")


def _loss(loss: dict[str, Any]) -> str:
    low, high = _money(loss["low_eur"]), _money(loss["high_eur"])
    return f"{_money(loss['expected_eur'])} ({low}–{high})"


def _share(rate: dict[str, Any]) -> str:
    if rate["value"] is None:
        return "–"
    return f"{rate['value'] * 100:.1f} % ({rate['low'] * 100:.1f}–{rate['high'] * 100:.1f})"


def _truth_rows(summary: dict[str, Any]) -> str:
    """The synthetic world's truth beside the estimate, when the simulation had it."""
    rows = ""
    before, after = (
        summary.get("true_expected_loss_before"),
        summary.get("true_expected_loss_after"),
    )
    if before is not None and after is not None:
        inside = [summary.get(f"true_loss_within_interval_{when}") for when in ("before", "after")]
        rows += (
            f"<tr><th>true expected loss (synthetic world's true PDs)</th>"
            f"<td>{_money(before)} ({_inside(inside[0])})</td>"
            f"<td>{_money(after)} ({_inside(inside[1])})</td></tr>"
        )
    bad_b, bad_a = summary.get("bad_rate_approved_before"), summary.get("bad_rate_approved_after")
    if bad_b is not None or bad_a is not None:
        rows += (
            "<tr><th>bad rate among the approved (realised, of those with a known outcome)</th>"
            f"<td>{_bad(bad_b)}</td><td>{_bad(bad_a)}</td></tr>"
        )
    else:
        rows += (
            '<tr><th>bad rate among the approved (realised)</th><td colspan="2">not known: '
            f"none of the {summary['applications']} applications has a 12-month outcome "
            "yet</td></tr>"
        )
    return rows


def _inside(flag: bool | None) -> str:
    return "inside the interval" if flag else "OUTSIDE the interval"


def _bad(rate: dict[str, Any] | None) -> str:
    if rate is None:
        return "no approved application with a known outcome"
    return f"{_share(rate)} of {rate['total']}"


def render_html(summary: dict[str, Any]) -> str:
    """The report page, plots inline (one file to attach to a change request)."""
    plots = _plots(summary)
    esc = html.escape
    live, candidate = summary["live"], summary["candidate"]
    loss_b, loss_a = summary["expected_loss_before"], summary["expected_loss_after"]
    outcomes = list(OUTCOME_WORDS)
    flip_rows = "".join(
        "<tr><th>"
        + esc(OUTCOME_WORDS[b])
        + "</th>"
        + "".join(f"<td>{summary['flip_matrix'][b][a]}</td>" for a in outcomes)
        + f"<td>{sum(summary['flip_matrix'][b].values())}</td></tr>"
        for b in outcomes
    )
    segment_rows = "".join(
        f"<tr><td>{esc(r['segment'])}</td><td>{esc(r['value'])}</td><td>{r['applications']}</td>"
        f"<td>{_share(r['approval_before'])}</td><td>{_share(r['approval_after'])}</td>"
        f"<td>{r['flips']}</td><td>{r['to_a_person_before']} → {r['to_a_person_after']}</td>"
        f"<td>{_money(r['expected_loss_before']['expected_eur'])} → "
        f"{_money(r['expected_loss_after']['expected_eur'])}</td></tr>"
        for r in summary["segments"]
    )
    images = "".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{data}"></figure>'
        for name, data in plots.items()
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in summary["notes"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Simulation {esc(summary["period"]["start"][:10])}
to {esc(summary["period"]["end"][:10])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:right}}th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}
figure{{margin:1em 0}}img{{max-width:100%}}.muted{{color:#666}}</style></head><body>
<h1>What the change would have done</h1>
<p>Applications decided from {esc(_day(summary["period"]["start"]))} up to (not including)
{esc(_day(summary["period"]["end"]))}:
<strong>{summary["applications"]}</strong>, replayed from their stored inputs.</p>
<table><tr><th></th><th>policy</th><th>model</th></tr>
<tr><th>live (before)</th><td>{esc(str(live["policy"]))}</td><td>{esc(str(live["model"]))}</td></tr>
<tr><th>candidate (after)</th><td>{esc(str(candidate["policy"]))}</td>
<td>{esc(str(candidate["model"]))}</td></tr></table>
<h2>Summary</h2>
<table><tr><th></th><th>before</th><th>after</th></tr>
<tr><th>approval rate (95 % interval)</th><td>{_share(summary["approval_before"])}</td>
<td>{_share(summary["approval_after"])}</td></tr>
<tr><th>approved exposure</th><td>{_money(loss_b["approved_exposure_eur"])}</td>
<td>{_money(loss_a["approved_exposure_eur"])}</td></tr>
<tr><th>expected loss (LGD {summary["loss_given_default"]:.2f})</th>
<td>{_loss(loss_b)}</td><td>{_loss(loss_a)}</td></tr>
{_truth_rows(summary)}
<tr><th>cases for reviewers (refer + pending review)</th><td>{summary["reviewer_cases_before"]}
({summary["reviewer_cases_per_week_before"]} a week)</td><td>{summary["reviewer_cases_after"]}
({summary["reviewer_cases_per_week_after"]} a week)</td></tr>
<tr><th>decisions that flip</th><td colspan="2">{summary["flips"]}</td></tr></table>
<h2>Flip matrix</h2>
<table><tr><th>before \\ after</th>{"".join(f"<th>{esc(OUTCOME_WORDS[o])}</th>" for o in outcomes)}
<th>total</th></tr>{flip_rows}</table>
{images}
<h2>Who is affected</h2>
<table><tr><th>segment</th><th>group</th><th>applications</th><th>approval before</th>
<th>approval after</th><th>flips</th><th>to reviewers</th><th>expected loss</th></tr>
{segment_rows}</table>
<h2>Notes</h2><ul class="muted">{notes}</ul>
</body></html>
"""


def write_report(summary: dict[str, Any], out_dir: Path) -> Path:
    """Write ``report.html`` and ``summary.json`` into ``out_dir``; returns the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.html"
    report.write_text(render_html(summary), encoding="utf-8")
    brief = {k: v for k, v in summary.items() if k not in ("decisions",)}
    (out_dir / "summary.json").write_text(json.dumps(brief, indent=2, default=str) + "\n")
    (out_dir / "decisions.json").write_text(json.dumps(summary["decisions"], default=str) + "\n")
    return report


def log_to_mlflow(summary: dict[str, Any], out_dir: Path, *, settings: Any = None) -> str:
    """Log the simulation's figures and files as a run of ``installment-simulations``."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow

    from models.registry import _settings, mlflow_client
    from models.registry import experiment_id as registry_experiment

    settings = _settings(settings)
    client = mlflow_client(settings)
    experiment_id = registry_experiment(client, settings, SIMULATION_EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({
            "period_start": summary["period"]["start"], "period_end": summary["period"]["end"],
            "live_policy": summary["live"]["policy"], "live_model": summary["live"]["model"],
            "candidate_policy": summary["candidate"]["policy"],
            "candidate_model": summary["candidate"]["model"],
            "loss_given_default": summary["loss_given_default"],
        })  # fmt: skip
        metrics = {
            "applications": summary["applications"],
            "flips": summary["flips"],
            "approval_rate_before": summary["approval_before"]["value"] or 0.0,
            "approval_rate_after": summary["approval_after"]["value"] or 0.0,
            "expected_loss_eur_before": summary["expected_loss_before"]["expected_eur"],
            "expected_loss_eur_after": summary["expected_loss_after"]["expected_eur"],
            "reviewer_cases_before": summary["reviewer_cases_before"],
            "reviewer_cases_after": summary["reviewer_cases_after"],
        }
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_artifacts(str(out_dir), artifact_path="simulation")
    return str(run.info.run_id)
