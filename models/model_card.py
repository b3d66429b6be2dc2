"""The model card of a registered version, under the headings of AI Act Annex IV and EBA 4.3.

Built from what the registry holds about the version (its tags: contract, fingerprint,
features, evaluation metrics with bootstrap intervals, calibration, fairness gaps) and the
training snapshot contract (each feature's meaning), so a card can be written for any
version, at training or later (``installment model-card VERSION``). Markdown and HTML go
into the version's MLflow run (``model_card/``) and the version's ``model_card`` tag points
there, which a change request then attaches.
"""

from __future__ import annotations

import html
import json
import math
import tempfile
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from models.monitoring.plan import MonitoringPlan

# Where a training run keeps each candidate's segment and fairness tables for its card.
CARD_DATA_DIR = "model_card_data"
TOO_FEW = "too few to judge"


@dataclass(frozen=True)
class Table:
    """A table in a card section: a caption, column headings, rows of shown text."""

    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str = ""
    # Rows (by position) read with care: shown muted in HTML.
    muted: frozenset[int] = field(default_factory=frozenset)


def _plain(value: Any) -> Any:
    """A JSON-safe value: NaN and missing become None, numpy numbers plain Python."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _ordered(attribute: str, rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows as stored, but age bands youngest first rather than in the alphabet's order."""
    if attribute != "age_band":
        return rows
    from models.evaluation.fairness import AGE_BANDS

    order = {label: i for i, (_, label) in enumerate(AGE_BANDS)}
    return sorted(rows, key=lambda row: order.get(str(row[column]), len(order)))


def card_data(evaluation: Any) -> str:
    """The segment and fairness tables of one candidate's evaluation, as the card's JSON.

    Written at training beside the version's run (``model_card_data/<kind>.json``), so a
    card written later shows the figures computed then, not figures recomputed differently.
    """
    from models.evaluation.metrics import MIN_SEGMENT_SIZE
    from models.evaluation.report import labelled_segments

    segments = {}
    for name, table in evaluation.segments.items():
        shown = labelled_segments(name, table)
        segments[name] = _records(shown.assign(value=table["segment"].astype(str)))
    report = evaluation.fairness
    fairness = None
    if report is not None:
        fairness = {
            "basis": report.basis,
            "approve_below": _plain(report.approve_below),
            "min_group_size": report.min_group_size,
            "groups": {
                attribute: _records(
                    frame.rename(columns={attribute: "group"}).astype({"group": str})
                )
                for attribute, frame in report.by_group.items()
            },
        }
    data = {
        "segment_basis": f"the held-out evaluation slice "
        f"({int(evaluation.metrics.get('evaluation_rows', 0))} applications)",
        "min_segment_size": MIN_SEGMENT_SIZE,
        "segments": segments,
        "fairness": fairness,
    }
    return json.dumps(data, indent=1, default=str)


INTENDED_PURPOSE = (
    "Estimate the 12-month probability of default of a consumer applying to pay a purchase "
    "(heat pump, solar panels, electronics, phone, smart home, home appliance) in monthly "
    "instalments, from the company's own payment history and a credit-bureau report. The "
    "estimate, with the credit policy's cut-offs, approves, refers to a person or declines; "
    "a person reviews any decision the customer contests (GDPR Art. 22(3))."
)
INTENDED_USERS = (
    "The sales system (machine client) at checkout; reviewers and senior reviewers who see "
    "the PD, its explanation and these limits on every case; the risk team who validate, "
    "approve (four eyes) and monitor the model."
)
KNOWN_LIMITS = (
    "Applicants with a thin file (little or no payment history with the company) are scored "
    "mostly on the bureau report; their PDs are less certain.",
    "Outcomes are known only for approved plans: the model never saw what declined "
    "applicants would have done (reject inference is not applied).",
    "Trained on one period; a change in the economy, the product mix or the bureau's "
    "scoring moves the population (see the monitoring plan).",
    "Affordability (income and obligations) is not a model input; the policy must assess it.",
    "Age band, sex and home language are kept aside and never model inputs; their figures "
    "(sections 4 and 5) are measured on held-out applications only.",
)
OVERSIGHT = (
    "Every change of champion or policy is proposed with its simulation and this card and "
    "takes effect only after a second person approves it; every step is audited.",
    "A person with the oversight role can stop automated decisions at any time; every API "
    "process obeys within seconds and each decision records it (AI Act Art. 14(4)(e)).",
    "Refer-band applications and any contested decision go to a reviewer who sees the "
    "inputs, the SHAP explanation and these limits, and must justify the outcome.",
    "The champion served is the one approved in the product's record; an alias moved in the "
    "registry outside the product is ignored and reported.",
)


def _metric(tags: dict[str, str], name: str, digits: int = 3) -> str:
    value = tags.get(name)
    if value in (None, "", "nan"):
        return "–"
    return f"{float(value):.{digits}f}"


def _gap(value: str) -> str:
    if value in ("", "nan", "None"):
        return "not judged: no two groups of at least 300 applications"
    return f"{float(value):.3f}"


def _feature_meanings(features: list[str], contract_id: str | None) -> list[tuple[str, str]]:
    """Each input by its catalogue label and meaning; the contract's words for the rest."""
    from data_contracts.feature_catalogue import feature_catalogue

    catalogue = feature_catalogue()
    described = [
        (f"{catalogue[name].label_en} ({name})", catalogue[name].meaning_en)
        for name in features
        if name in catalogue
    ]
    if len(described) == len(features):
        return described
    meanings: dict[str, str] = {}
    if contract_id:
        try:
            from data_contracts.loader import load_contract

            meanings = {
                f.name: f.description or f.purpose for f in load_contract(contract_id).fields
            }
        except Exception:  # a card without meanings is still a card  # noqa: BLE001
            meanings = {}
    return [
        (f"{catalogue[name].label_en} ({name})", catalogue[name].meaning_en)
        if name in catalogue
        else (name, meanings.get(name, ""))
        for name in features
    ]


def _pct(value: Any) -> str:
    return "–" if value is None else f"{max(float(value), 0.0):.1%}"  # rates: no "-0.0%"


def _interval(value: Any, low: Any, high: Any, form: str = "pct") -> str:
    if value is None:
        return "–"
    shown = _pct if form == "pct" else (lambda v: f"{float(v):.3f}")
    if low is None or high is None:
        return shown(value)
    return f"{shown(value)} ({shown(low)}–{shown(high)})"


def _calibration_word(row: dict[str, Any]) -> str:
    """Mean PD against the observed rate's interval: within, over- or under-predicting."""
    low, high, mean_pd = row.get("default_rate_low"), row.get("default_rate_high"), row["mean_pd"]
    if low is None or high is None:
        return "–"
    if mean_pd > high:
        return "over-predicts"
    if mean_pd < low:
        return "under-predicts"
    return "within the interval"


def segment_tables(data: dict[str, Any] | None) -> list[Any]:
    """Per segment: applications, observed bad rate against mean PD, AUC, with intervals."""
    from data_contracts.feature_catalogue import feature_label

    if not data or not data.get("segments"):
        return [
            "Per-segment figures were not recorded for this version (trained before the card "
            "carried them); retrain to have them."
        ]
    minimum = data.get("min_segment_size", 0)
    out: list[Any] = [
        f"Per segment, on {data.get('segment_basis', 'the evaluation slice')}: the observed "
        "bad rate with its 95 % Wilson interval beside the mean predicted PD (calibration: is "
        "the mean PD inside the interval?), and the AUC with its 95 % bootstrap interval. A "
        f"segment of fewer than {minimum} applications, or without both outcomes, is "
        f"shown, its AUC marked {TOO_FEW}."
    ]
    for name, rows in data["segments"].items():
        shown, muted = [], set()
        for i, row in enumerate(_ordered(name, rows, "segment")):
            judged = bool(row.get("judged"))
            if judged:
                auc = _interval(row["auc"], row.get("auc_ci_low"), row.get("auc_ci_high"), "3")
            elif row["count"] < minimum:
                auc = f"{TOO_FEW} (n < {minimum})"
                muted.add(i)
            else:
                auc = f"{TOO_FEW} (only one outcome)"
                muted.add(i)
            shown.append(
                (
                    str(row["segment"]),
                    f"{row['count']:,}",
                    _interval(
                        row["default_rate"],
                        row.get("default_rate_low"),
                        row.get("default_rate_high"),
                    ),
                    _pct(row["mean_pd"]),
                    _calibration_word(row),
                    auc,
                )
            )
        label = feature_label(name)
        caption = label[:1].upper() + label[1:]
        if label != name.replace("_", " "):  # a model input: its name beside its label
            caption += f" ({name})"
        out.append(
            Table(
                caption=caption,
                columns=(
                    "Segment",
                    "Applications",
                    "Observed bad rate (95 % CI)",
                    "Mean PD",
                    "Calibration",
                    "AUC (95 % CI)",
                ),
                rows=shown,
                muted=frozenset(muted),
            )
        )
    return out


def fairness_tables(data: dict[str, Any] | None) -> list[Any]:
    """Per protected group: approval rate and bad rate among approved with Wilson intervals."""
    fairness = (data or {}).get("fairness")
    if not fairness:
        return []
    minimum = fairness.get("min_group_size", 0)
    out: list[Any] = [
        f"Per group, on {fairness.get('basis', 'the evaluation slice')}, approving PD below "
        f"{float(fairness['approve_below']):.3g}: approval rate and bad rate among the approved "
        f"with 95 % Wilson intervals, and the AUC. A group of fewer than {minimum} "
        f"applications is shown with its interval but {TOO_FEW}: it counts in no gap."
    ]
    for attribute, rows in fairness["groups"].items():
        shown, muted = [], set()
        for i, row in enumerate(_ordered(attribute, rows, "group")):
            judged = bool(row.get("judged"))
            if not judged:
                muted.add(i)
            shown.append(
                (
                    str(row["group"]),
                    f"{row['count']:,}",
                    _interval(
                        row["approval_rate"],
                        row.get("approval_rate_low"),
                        row.get("approval_rate_high"),
                    ),
                    _interval(
                        row.get("default_rate_approved"),
                        row.get("default_rate_approved_low"),
                        row.get("default_rate_approved_high"),
                    ),
                    "–" if row.get("auc") is None else f"{float(row['auc']):.3f}",
                    "judged" if judged else f"{TOO_FEW} (n < {minimum})",
                )
            )
        out.append(
            Table(
                caption=attribute.replace("_", " ").capitalize(),
                columns=(
                    "Group",
                    "Applications",
                    "Approval rate (95 % CI)",
                    "Bad rate among approved (95 % CI)",
                    "AUC",
                    "Verdict",
                ),
                rows=shown,
                muted=frozenset(muted),
            )
        )
    return out


def card_plan(version: str, tags: dict[str, str]) -> MonitoringPlan:
    """The monitoring plan the version's tags hold, else the release's defaults."""
    source = f"model card of installment-pd version {version}"
    return MonitoringPlan.from_tags(tags, source=source) or MonitoringPlan(source=source)


def card_sections(
    version: str, tags: dict[str, str], data: dict[str, Any] | None = None
) -> list[tuple[str, Any]]:
    """The card's sections in order: (heading, paragraphs, table rows or :class:`Table`).

    ``data`` holds the segment and fairness tables written at training (:func:`card_data`).
    """
    plan = card_plan(version, tags)
    features = [f for f in tags.get("features", "").split(",") if f]
    metrics = [
        (
            "AUC (95 % bootstrap interval)",
            f"{_metric(tags, 'auc')} "
            f"({_metric(tags, 'auc_ci_low')}–{_metric(tags, 'auc_ci_high')})",
        ),
        ("KS", _metric(tags, "ks")),
        ("Brier score", _metric(tags, "brier", 4)),
        ("Expected calibration error (ECE)", _metric(tags, "ece", 4)),
        ("AUC of the true PDs (ceiling, synthetic data)", _metric(tags, "truth_ceiling_auc")),
        ("ECE against the true PDs", _metric(tags, "truth_ece", 4)),
    ]
    fairness = sorted(
        (
            name.removeprefix("fairness.").removesuffix("_gap").replace(".", ": ") + " gap",
            _gap(value),
        )
        for name, value in tags.items()
        if name.startswith("fairness.") and name.endswith("_gap")
    )
    return [
        (
            "1. Intended purpose and users (Annex IV 1(a); EBA 4.3)",
            [INTENDED_PURPOSE, INTENDED_USERS],
        ),
        (
            "2. Data and data governance (Annex IV 2(d); Art. 10)",
            [
                f"Training snapshot contract {tags.get('contract_id', '–')} "
                f"{tags.get('contract_version', '–')}; data fingerprint "
                f"{tags.get('data_fingerprint', '–')}; MLflow run {tags.get('run_id', '–')}.",
                "Only fields the contract allows for creditworthiness models are inputs; the "
                "contract's feature gate refuses any other at training and at promotion.",
            ],
        ),
        (
            f"3. Features ({len(features)}) and their meaning",
            features and _feature_meanings(features, tags.get("contract_id")),
        ),
        (
            "4. Performance on the newest applications (Annex IV 2(g))",
            [*metrics, *segment_tables(data)],
        ),
        (
            "5. Fairness on attributes kept aside (Art. 10(2)(f); R14)",
            [*fairness, *fairness_tables(data)]
            or [("figures", "none recorded: train with protected attributes kept aside")],
        ),
        ("6. Known limits (Annex IV 3)", list(KNOWN_LIMITS)),
        (
            "7. Monitoring plan and thresholds (Annex IV 2(h); Art. 72)",
            [
                "installment monitor compares each month's decisions with this version's training "
                "population (PSI per feature and of the score) and reads its thresholds from "
                "this card (the version's monitoring.* tags):",
                ("PSI: moderate shift from", f"{plan.psi_moderate:g} (investigate)"),
                (
                    "PSI: major shift from",
                    f"{plan.psi_major:g} (simulate and decide on retraining)",
                ),
                (
                    "No drift verdict below",
                    f"{plan.min_values_for_verdict} decisions; a PSI under the sampling-noise "
                    "bound printed beside it is not a shift",
                ),
                (
                    "Back-test per risk grade (12-month outcomes)",
                    f"|z| above {plan.backtest_z:g} is looked at",
                ),
                (
                    "Overturn rate of automated decisions, weekly",
                    f"above {plan.overturn_rate_alert:.0%} of those reviewed is looked at",
                ),
            ],
        ),
        ("8. Human oversight (Art. 14; Annex IV 2(e))", list(OVERSIGHT)),
        ("9. Version", [f"installment-pd version {version} ({tags.get('kind', '–')})."]),
    ]


def _markdown_table(table: Table) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["", f"**{table.caption}**", ""]
    lines.append("| " + " | ".join(cell(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return [*lines, ""]


def render_markdown(version: str, tags: dict[str, str], data: dict[str, Any] | None = None) -> str:
    """The card as Markdown."""
    lines = [f"# Model card: installment-pd version {version}", ""]
    for heading, body in card_sections(version, tags, data):
        lines += [f"## {heading}", ""]
        for item in body or []:
            if isinstance(item, Table):
                lines += _markdown_table(item)
            elif isinstance(item, tuple):
                lines.append(f"- **{item[0]}**: {item[1]}" if item[1] else f"- **{item[0]}**")
            else:
                lines.append(f"- {item}")
        lines.append("")
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join(
        f"<tr{' class=muted' if i in table.muted else ''}>"
        + "".join(f"<td>{esc(c)}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(table.rows)
    )
    note = f"<p class=note>{esc(table.note)}</p>" if table.note else ""
    return (
        f"<h3>{esc(table.caption)}</h3><table class=grid><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{note}"
    )


def render_html(version: str, tags: dict[str, str], data: dict[str, Any] | None = None) -> str:
    """The card as one HTML page."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Model card: installment-pd {esc(version)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;"
        "color:#222}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;"
        "vertical-align:top}table{border-collapse:collapse;margin-bottom:1em}"
        "table.grid thead th{background:#f2f2f2}tr.muted td{color:#777;font-style:italic}"
        "h3{font-size:1em;margin-bottom:.3em}</style></head><body>",
        f"<h1>Model card: installment-pd version {esc(version)}</h1>",
    ]
    for heading, body in card_sections(version, tags, data):
        parts.append(f"<h2>{esc(heading)}</h2>")
        # In the order given: runs of paragraphs as a list, runs of rows as one table.
        for kind, run in groupby(
            body or [],
            key=lambda i: "table" if isinstance(i, Table) else type(i).__name__,
        ):
            items = list(run)
            if kind == "table":
                parts += [_html_table(t) for t in items]
            elif kind == "tuple":
                parts.append(
                    "<table>"
                    + "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in items)
                    + "</table>"
                )
            else:
                parts.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in items) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def read_card_data(run_id: str, kind: str, *, settings: Any = None) -> dict[str, Any] | None:
    """The segment and fairness tables a training run kept for one candidate, if any.

    A version trained before the card carried them has none; its card says so.
    """
    import mlflow

    from models.registry import mlflow_client

    mlflow_client(settings)  # points MLflow at the configured store
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=f"{CARD_DATA_DIR}/{kind}.json", dst_path=tmp
            )
        except Exception:  # MLflow raises its own errors for a missing artifact  # noqa: BLE001
            return None
        loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        return loaded


def write_model_card(version: str | int, *, settings: Any = None, out: Path | None = None) -> str:
    """Write the card of a registered version into its MLflow run; returns the card's URI.

    The version's ``model_card`` tag is set to that URI. With ``out`` the same Markdown and
    HTML are also written into that folder.
    """
    from models.registry import MODEL_NAME, mlflow_client, version_tags

    version = str(version)
    tags = version_tags(version, settings=settings)
    client = mlflow_client(settings)
    # The plan is written with the card so monitoring reads exactly what the card states.
    plan_tags = card_plan(version, tags).as_tags()
    for key, value in plan_tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    tags = {**tags, **plan_tags}
    run_id = tags.get("run_id") or client.get_model_version(MODEL_NAME, version).run_id
    data = read_card_data(run_id, tags.get("kind", ""), settings=settings)
    markdown, page = render_markdown(version, tags, data), render_html(version, tags, data)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"version-{version}"
        folder.mkdir()
        (folder / "model_card.md").write_text(markdown, encoding="utf-8")
        (folder / "model_card.html").write_text(page, encoding="utf-8")
        # log_artifacts copies the folder's contents: the version's own folder is the path.
        client.log_artifacts(run_id, str(folder), artifact_path=f"model_card/version-{version}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "model_card.md").write_text(markdown, encoding="utf-8")
        (out / "model_card.html").write_text(page, encoding="utf-8")
    uri = f"runs:/{run_id}/model_card/version-{version}/model_card.html"
    client.set_model_version_tag(MODEL_NAME, version, "model_card", uri)
    return uri
