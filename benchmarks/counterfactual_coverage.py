"""How many declines get an actionable counterfactual, by cause, now and at an earlier commit.

Generates a synthetic world, trains a LightGBM model on it, decides every application with
the live policy and searches each decline's counterfactual with the live scorer (the
service's feature code, actions included). ``--before-ref`` also runs the search of that
commit's ``scoring/domain/counterfactual.py`` on the same declines (its scorer takes no
actions) and counts its suggestions below the product's sensible minimum apart.

    .venv/bin/python -m benchmarks.counterfactual_coverage --customers 3000 --before-ref main
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _old_module(ref: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:scoring/domain/counterfactual.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    module = types.ModuleType("counterfactual_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{ref}:counterfactual.py", "exec"), module.__dict__)
    return module


def _cause(outcome) -> str:
    rules = [hit.code for hit in outcome.policy_rules if hit.effect == "decline"]
    return rules[0] if rules else "model (PD at or above the cut-off)"


def measure(*, customers: int, seed: int, before_ref: str | None) -> dict[str, Counter]:
    sys.path.insert(0, str(ROOT / "tests" / "models"))
    from models_fake_contract import FakeContract

    from models.training.train import fit_lightgbm, plan_from_contract, time_split
    from models.world import generate_world
    from scoring.domain import personal_code
    from scoring.domain.counterfactual import find_counterfactual
    from scoring.domain.decision import ApplicationFacts, ModelAssessment, Outcome, decide
    from scoring.domain.policy import Policy
    from scoring.domain.reasons import ReasonFacts
    from scoring.features import (
        FEATURE_NAMES,
        CustomerHistory,
        build_training_snapshot,
        history_aggregates,
    )
    from scoring.service.decisions.assess import ApplicantHistory, feature_matrix

    world = generate_world(customers=customers, seed=seed, as_of=date(2026, 6, 30))
    snapshot = build_training_snapshot(world)
    plan = plan_from_contract(FakeContract(), list(snapshot.columns))
    model = fit_lightgbm(time_split(snapshot, plan), plan)
    policy_file = ROOT / "scoring" / "policies" / "policy-2026.11.1.yaml"
    policy = Policy.from_mapping(yaml.safe_load(policy_file.read_text()))
    old = _old_module(before_ref) if before_ref else None

    apps = world.applications.reset_index(drop=True)
    features = snapshot.set_index("application_id").loc[apps["application_id"], FEATURE_NAMES]
    matrix = features.to_numpy(dtype=np.float64)
    pds = model.predict_pd(matrix)
    base, contributions = model.contributions(matrix)
    raw = history_aggregates(
        applications=apps, invoices=world.invoices, payments=world.payments
    ).reset_index(drop=True)
    reports = world.bureau_reports.set_index("report_id").loc[apps["bureau_report_id"]]
    invoices_of = world.invoices.groupby("personal_code").indices
    payments_of = world.payments.groupby("invoice_id").indices

    counts: dict[str, Counter] = {"declines": Counter(), "now": Counter()}
    if old is not None:
        counts.update(before=Counter(), before_at_or_above_minimum=Counter())
    for i, app in apps.iterrows():
        report = reports.iloc[i]
        applied_at = pd.Timestamp(app.applied_at).to_pydatetime()
        facts = ApplicationFacts(
            amount_eur=float(app.amount_eur), term_months=int(app.term_months),
            product_category=str(app.product_category),
            age_years=personal_code.parse(app.personal_code).age_on(applied_at.date()),
        )  # fmt: skip
        evidence = ReasonFacts.from_inputs(
            raw.iloc[i].to_dict(), bureau_class=str(report.risk_class),
            bureau_score=float(report.score),
            bureau_open_defaults=int(report.open_default_count),
            bureau_closed_defaults=int(report.closed_default_count),
            amount_eur=facts.amount_eur, term_months=facts.term_months,
            product_category=facts.product_category,
        )  # fmt: skip
        assessment = ModelAssessment(
            float(pds[i]), float(base),
            dict(zip(model.feature_names, contributions[i].tolist(), strict=True)), "m", "1",
        )  # fmt: skip
        values = dict(zip(FEATURE_NAMES, matrix[i].tolist(), strict=True))
        outcome = decide(
            application=facts, features=values, assessment=assessment, policy=policy,
            evidence=evidence,
        )  # fmt: skip
        if outcome.outcome is not Outcome.DECLINE:
            continue
        cause = _cause(outcome)
        counts["declines"][cause] += 1
        invoice_rows = world.invoices.iloc[invoices_of.get(app.personal_code, [])]
        payment_rows = [payments_of[x] for x in invoice_rows.invoice_id if x in payments_of]
        history = ApplicantHistory(
            False,
            CustomerHistory.from_frames(
                invoice_rows,
                world.payments.iloc[np.concatenate(payment_rows) if payment_rows else []],
            ),
        )

        def score(candidates, actions=frozenset(), history=history, applied_at=applied_at,
                  report=report, facts=facts):  # fmt: skip
            batch = feature_matrix(
                history=history, report=report, applied_at=applied_at,
                product_category=facts.product_category, terms=candidates, actions=actions,
            )  # fmt: skip
            return model.predict_pd(batch).tolist()

        if find_counterfactual(
            application=facts, outcome=outcome, policy=policy, score=score, evidence=evidence
        ):
            counts["now"][cause] += 1
        if old is not None:
            before = old.find_counterfactual(
                application=facts, outcome=outcome, policy=policy, score=score
            )
            if before is not None:
                counts["before"][cause] += 1
                minimum = policy.product_minimum(facts.product_category)
                if before.suggested.amount_eur >= minimum:
                    counts["before_at_or_above_minimum"][cause] += 1
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--before-ref", default=None)
    args = parser.parse_args(argv)
    counts = measure(customers=args.customers, seed=args.seed, before_ref=args.before_ref)
    columns = [c for c in ("before", "before_at_or_above_minimum", "now") if c in counts]
    print("| decline cause | declines | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    total = Counter()
    for cause, n in sorted(counts["declines"].items(), key=lambda item: -item[1]):
        cells = [f"{counts[c][cause]} ({counts[c][cause] / n:.0%})" for c in columns]
        print(f"| {cause} | {n} | " + " | ".join(cells) + " |")
        total["declines"] += n
        for c in columns:
            total[c] += counts[c][cause]
    n = total["declines"]
    cells = [f"{total[c]} ({total[c] / n:.0%})" for c in columns]
    print(f"| all | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
