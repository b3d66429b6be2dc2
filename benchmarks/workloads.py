"""Benchmark workloads, each run in a child process: ``python -m benchmarks.workloads NAME``.

A workload reads its arguments as JSON on the command line and prints one JSON line with
its timings and the process's peak resident memory, so each figure in ``BENCHMARKS.md``
is the cost of that job alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

CHANNELS = ("web", "store", "phone")
MAX_AMOUNT_EUR = 50_000.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    Read from ``VmHWM`` where Linux has it: ``ru_maxrss`` carries the parent's peak across
    ``exec``, so a small child of a large parent would report the parent's figure.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of durations, in milliseconds."""
    ms = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "n": len(ms),
    }


def decision_bodies(world_dir: Path, *, count: int, prefix: str, seed: int = 0) -> list[dict]:
    """Request bodies for applicants of the world (their codes, purchases like theirs)."""
    from data_contracts.world_folder import read_frame

    apps = read_frame(
        world_dir,
        "applications.parquet",
        columns=["personal_code", "amount_eur", "term_months", "product_category"],
    )
    rng = np.random.default_rng(seed)
    rows = apps.iloc[rng.integers(0, len(apps), count)]
    return [
        {
            "application_id": f"{prefix}-{i:07d}",
            "personal_code": str(code),
            "purchase": {
                "amount_eur": float(min(amount, MAX_AMOUNT_EUR)),
                "term_months": int(term),
                "product_category": str(category),
            },
            "channel": CHANNELS[i % len(CHANNELS)],
            "human_review_requested": False,
        }
        for i, (code, amount, term, category) in enumerate(rows.itertuples(index=False))
    ]


def _settings(home: str, database_url: str | None):
    from scoring.config import load_settings

    env = {"INSTALLMENT_HOME": home}
    if database_url:
        env["INSTALLMENT_DATABASE_URL"] = database_url
    return load_settings(env)


def decisions(*, home: str, count: int, warmup: int, database_url: str | None = None) -> dict:
    """Full in-process decisions (``make_decision``: read, score, explain, store) and parts."""
    from data_contracts.requests import DecisionRequest
    from scoring.bootstrap import build_runtime
    from scoring.bureau.simulator import ReportSource, in_process_transport
    from scoring.service.api_keys import authenticate, create_api_key
    from scoring.service.decisions import make_decision

    settings = _settings(home, database_url)
    world = settings.home / "world"
    runtime = build_runtime(
        settings=settings,
        bureau_transport=in_process_transport(ReportSource.from_world(world)),
        poll_models=False,
    )
    try:
        issued = create_api_key(
            uow=runtime.unit_of_work(), client="bench-in-process", scopes=["decisions:write"]
        )
        with runtime.sessions() as session:
            client = authenticate(session=session, presented=issued.key)
        stamp = f"INPROC-{time.time_ns():x}"
        bodies = decision_bodies(world, count=warmup + count, prefix=stamp)
        requests = [DecisionRequest.model_validate(b) for b in bodies]
        outcomes: dict[str, int] = {}
        durations = []
        for n, request in enumerate(requests):
            started = time.perf_counter()
            view = make_decision(
                request=request, client=client, idempotency_key=None,
                uow=runtime.unit_of_work(), bureau=runtime.bureau, models=runtime.models,
                policy=runtime.policy, pseudonym_key=runtime.pseudonym_key, clock=runtime.clock,
            )  # fmt: skip
            if n >= warmup:
                durations.append(time.perf_counter() - started)
                outcomes[view.outcome] = outcomes.get(view.outcome, 0) + 1
        model = runtime.models.champion()
        parts = decision_parts(world, model=model, policy=runtime.policy, count=count)
    finally:
        runtime.close()
    return {
        "service": percentiles(durations),
        "outcomes": outcomes,
        "model": f"{model.name} {model.version} ({model.kind})",
        "parts": parts,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def decision_parts(world_dir: Path, *, model, policy, count: int) -> dict[str, dict]:
    """The scoring steps of one live decision, timed apart on applicants of the world.

    Each applicant's history is handed over as the service reads it from the database
    (``CustomerHistory`` arrays) and goes through the service's own scoring functions.
    """
    from types import SimpleNamespace

    import pandas as pd

    from models.world import read_world
    from scoring.domain.counterfactual import find_counterfactual
    from scoring.domain.decision import ApplicationFacts, ModelAssessment, decide
    from scoring.features import FEATURE_NAMES, BureauFacts, CustomerHistory
    from scoring.service.decisions import _model_matrix, feature_matrix
    from scoring.service.decisions.assess import reason_facts

    world = read_world(world_dir)
    apps = world.applications
    by_person = world.invoices.groupby("personal_code").indices
    pay_index = world.payments.groupby("invoice_id").indices
    reports = world.bureau_reports.set_index("report_id")

    rng = np.random.default_rng(1)
    timings: dict[str, list[float]] = {
        k: [] for k in ("features", "predict_pd", "explain", "decide", "counterfactual", "total")
    }
    for i in rng.integers(0, len(apps), min(count, len(apps))):
        app = apps.iloc[i]
        inv = world.invoices.iloc[by_person.get(app.personal_code, [])]
        pay_rows = [pay_index[x] for x in inv.invoice_id if x in pay_index]
        pay = world.payments.iloc[np.concatenate(pay_rows) if pay_rows else []]
        history = SimpleNamespace(events=CustomerHistory.from_frames(inv, pay))
        report = reports.loc[app.bureau_report_id]
        report = BureauFacts(
            report.score, report.risk_class, report.open_default_count,
            report.closed_default_count,
        )  # fmt: skip
        applied_at = pd.Timestamp(app.applied_at).to_pydatetime()
        facts = ApplicationFacts(
            amount_eur=float(app.amount_eur), term_months=int(app.term_months),
            product_category=str(app.product_category), age_years=40,
            human_review_requested=False, objected_to_profiling=False,
        )  # fmt: skip

        def matrix(
            terms, actions=frozenset(), history=history, report=report, applied_at=applied_at,
            facts=facts,
        ):  # fmt: skip
            return feature_matrix(
                history=history, report=report, applied_at=applied_at,
                product_category=facts.product_category, terms=terms, actions=actions,
            )  # fmt: skip

        t0 = time.perf_counter()
        features = matrix([(facts.amount_eur, facts.term_months)])
        t1 = time.perf_counter()
        model_input = _model_matrix(features, model)
        probability = float(model.predict_pd(model_input)[0])
        t2 = time.perf_counter()
        base, contributions = model.contributions(model_input)
        t3 = time.perf_counter()
        assessment = ModelAssessment(
            probability_of_default=probability, base_value=float(base),
            contributions=dict(zip(model.feature_names, contributions[0].tolist(), strict=True)),
            model_name=model.name, model_version=str(model.version),
        )  # fmt: skip
        row = dict(zip(FEATURE_NAMES, features[0].tolist(), strict=True))
        evidence = reason_facts(history=history, report=report, applied_at=applied_at, facts=facts)
        outcome = decide(
            application=facts, features=row, assessment=assessment, policy=policy,
            evidence=evidence,
        )  # fmt: skip
        t4 = time.perf_counter()

        def score(candidates, actions, matrix=matrix):
            return model.predict_pd(_model_matrix(matrix(candidates, actions), model)).tolist()

        find_counterfactual(
            application=facts, outcome=outcome, policy=policy, score=score, evidence=evidence
        )
        t5 = time.perf_counter()
        for name, (a, b) in {
            "features": (t0, t1), "predict_pd": (t1, t2), "explain": (t2, t3),
            "decide": (t3, t4), "counterfactual": (t4, t5), "total": (t0, t5),
        }.items():  # fmt: skip
            timings[name].append(b - a)
    return {name: percentiles(values) for name, values in timings.items()}


def batch(*, home: str, world: str) -> dict:
    """Features, PD and SHAP contributions for every application of a world."""
    from models.registry import load_champion
    from models.world import read_world
    from scoring.features import application_features

    settings = _settings(home, None)
    model = load_champion(settings=settings)
    t0 = time.perf_counter()
    w = read_world(world)
    t1 = time.perf_counter()
    features = application_features(
        applications=w.applications, invoices=w.invoices, payments=w.payments,
        bureau_reports=w.bureau_reports,
    )  # fmt: skip
    t2 = time.perf_counter()
    probability = model.predict_pd(features)
    t3 = time.perf_counter()
    base, contributions = model.explain(features)
    t4 = time.perf_counter()
    logit = np.log(probability / (1 - probability))
    gap = np.abs(base + contributions.to_numpy().sum(axis=1) - logit)
    return {
        "applications": len(features),
        "invoices": len(w.invoices),
        "payments": len(w.payments),
        "read_s": round(t1 - t0, 2),
        "features_s": round(t2 - t1, 2),
        "predict_s": round(t3 - t2, 2),
        "explain_s": round(t4 - t3, 2),
        "score_and_explain_s": round(t4 - t1, 2),
        "max_additivity_gap": float(gap.max()),
        "model": f"{model.name} {model.version} ({model.kind})",
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def generate(*, customers: int, seed: int, out: str) -> dict:
    """A synthetic world written to ``out`` (kept when it is already there)."""
    from datetime import date

    from models.world import generate_world, write_world

    started = time.perf_counter()
    if not (Path(out) / "manifest.json").exists():
        world = generate_world(customers=customers, seed=seed, as_of=date(2026, 11, 1))
        write_world(world, Path(out), force=True)
    return {
        "generate_s": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def training(*, world: str) -> dict:
    """Snapshot, contract validation and both candidates' fits on one world."""
    from data_contracts.loader import load_contract
    from models.training.run import snapshot_from_world
    from models.training.train import train_candidates

    t0 = time.perf_counter()
    snapshot = snapshot_from_world(Path(world))
    t1 = time.perf_counter()
    result = train_candidates(snapshot, load_contract("training_snapshot"))
    t2 = time.perf_counter()
    return {
        "rows": len(snapshot),
        "snapshot_s": round(t1 - t0, 2),
        "validate_s": round(result.timings["validate_s"], 2),
        "lightgbm_s": round(result.timings["lightgbm_s"], 2),
        "scorecard_s": round(result.timings["scorecard_s"], 2),
        "train_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "trees": result.models["lightgbm"].metadata.get("trees"),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


WORKLOADS = {
    "decisions": decisions,
    "batch": batch,
    "generate": generate,
    "training": training,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in WORKLOADS:
        names = ",".join(WORKLOADS)
        print(f"usage: python -m benchmarks.workloads {{{names}}} JSON", file=sys.stderr)
        return 2
    arguments: dict[str, Any] = json.loads(argv[1])
    print(json.dumps(WORKLOADS[argv[0]](**arguments)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
