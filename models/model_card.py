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
import tempfile
from pathlib import Path
from typing import Any

from models.monitoring.plan import MonitoringPlan

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
    "Age band, sex and home language are kept aside and never model inputs; the fairness "
    "figures below are measured on the evaluation slice only.",
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


def card_plan(version: str, tags: dict[str, str]) -> MonitoringPlan:
    """The monitoring plan the version's tags hold, else the release's defaults."""
    source = f"model card of installment-pd version {version}"
    return MonitoringPlan.from_tags(tags, source=source) or MonitoringPlan(source=source)


def card_sections(version: str, tags: dict[str, str]) -> list[tuple[str, Any]]:
    """The card's sections in order: (heading, paragraphs or table rows)."""
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
        ("4. Performance on the newest applications (Annex IV 2(g))", metrics),
        (
            "5. Fairness on attributes kept aside (Art. 10(2)(f); R14)",
            fairness or [("figures", "none recorded: train with protected attributes kept aside")],
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


def render_markdown(version: str, tags: dict[str, str]) -> str:
    """The card as Markdown."""
    lines = [f"# Model card: installment-pd version {version}", ""]
    for heading, body in card_sections(version, tags):
        lines += [f"## {heading}", ""]
        for item in body or []:
            if isinstance(item, tuple):
                lines.append(f"- **{item[0]}**: {item[1]}" if item[1] else f"- **{item[0]}**")
            else:
                lines.append(f"- {item}")
        lines.append("")
    return "\n".join(lines)


def render_html(version: str, tags: dict[str, str]) -> str:
    """The card as one HTML page."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Model card: installment-pd {esc(version)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;"
        "color:#222}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;"
        "vertical-align:top}table{border-collapse:collapse}</style></head><body>",
        f"<h1>Model card: installment-pd version {esc(version)}</h1>",
    ]
    for heading, body in card_sections(version, tags):
        parts.append(f"<h2>{esc(heading)}</h2>")
        rows = [item for item in body or [] if isinstance(item, tuple)]
        texts = [item for item in body or [] if not isinstance(item, tuple)]
        if texts:
            parts.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in texts) + "</ul>")
        if rows:
            parts.append(
                "<table>"
                + "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows)
                + "</table>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_model_card(version: str | int, *, settings: Any = None) -> str:
    """Write the card of a registered version into its MLflow run; returns the card's URI.

    The version's ``model_card`` tag is set to that URI.
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
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"version-{version}"
        folder.mkdir()
        (folder / "model_card.md").write_text(render_markdown(version, tags), encoding="utf-8")
        (folder / "model_card.html").write_text(render_html(version, tags), encoding="utf-8")
        client.log_artifacts(run_id, str(folder), artifact_path="model_card")
    uri = f"runs:/{run_id}/model_card/version-{version}/model_card.html"
    client.set_model_version_tag(MODEL_NAME, version, "model_card", uri)
    return uri
