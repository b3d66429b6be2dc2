"""The benchmark harness runs end to end on a tiny world, so `installment bench` never rots."""

from __future__ import annotations

import statistics

import pytest

from benchmarks.loadgen import LoadError, run_load
from scoring.bench import BenchConfig, Section, run, update_report


def _section(kind: str, value: float) -> Section:
    return Section(kind, f"The {kind} benchmark", ["what", "ms"], [["one", value]], ["a note"])


def test_report_update_replaces_only_the_benchmarks_run(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("# Benchmarks\n\nHow to run them.\n")
    update_report(report, [_section("decisions", 1.5), _section("batch", 9.0)], command="c1")
    update_report(report, [_section("decisions", 2.5)], command="c2")
    text = report.read_text()
    assert text.startswith("# Benchmarks\n\nHow to run them.\n")
    assert text.count("<!-- bench:decisions -->") == 1
    assert "| one | 2.50 |" in text and "| one | 1.50 |" not in text
    assert "| one | 9.00 |" in text  # the batch section was left as it was
    assert "with `c2`" in text and "CPUs" in text


def test_load_is_generated_only_against_this_machine():
    with pytest.raises(LoadError, match="only against this machine"):
        run_load(name="x", host="example.org", port=80, make_request=lambda i: b"",
                 concurrency=1, duration_s=1.0)  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_harness_runs_every_decision_benchmark_on_a_tiny_world(tmp_path):
    config = BenchConfig(
        state=tmp_path / "state", customers=300, decisions=5, warmup=2, http_seconds=0.5,
        concurrency=2, databases=("sqlite",), bureaus=("in-process",), batch_customers=300,
        bootstrap_resamples=20, http_rounds=2,
    )  # fmt: skip
    decisions, http, batch = run(["decisions", "http", "batch"], config, progress=print)

    assert decisions.raw["service"]["n"] == 5 and decisions.raw["service"]["p50_ms"] > 0
    assert set(decisions.raw["parts"]) >= {"features", "predict_pd", "explain", "decide"}

    # Two rounds of the same set-ups, one after the other.
    results = http.raw["results"]
    assert [r["round"] for r in results] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert [r["processes"] for r in results[:4]] == [r["processes"] for r in results[4:]]
    floor, served, replicas_floor, replicas = results[:4]
    assert floor["name"] == "GET /healthz" and floor["errors"] == 0 and floor["requests"] > 0
    assert served["name"] == "POST /v1/decisions" and served["errors"] == 0
    assert served["requests"] > 0
    # Every decision answered 201 is in the database, explained.
    assert served["stored"] == served["answered_201"] > served["requests"] - 1
    # Two API processes on one port and one database: the same holds.
    assert (floor["processes"], replicas_floor["processes"], replicas["processes"]) == (1, 2, 2)
    assert replicas["errors"] == 0 and replicas["requests"] > 0
    assert replicas["stored"] == replicas["answered_201"]
    assert len(replicas["server_peak_mib"]) == 2 and all(replicas["server_peak_mib"])
    # The load's two connections, counted where the kernel put them.
    assert sum(served["connections"]) == sum(replicas["connections"]) == 2

    assert batch.raw["applications"] > 250
    assert batch.raw["max_additivity_gap"] < 1e-9
    for again in results[4:]:
        assert again["errors"] == 0 and again["requests"] > 0
        assert again.get("stored", 0) == again.get("answered_201", 0)
    assert "| database | bureau | API processes | round | endpoint |" in http.markdown()
    # The medians over the rounds are named per set-up, from the rounds' own figures.
    median = statistics.median([r["throughput_rps"] for r in (served, results[5])])
    notes = " ".join(http.notes)
    assert "run 2 times" in notes
    assert f"sqlite, bureau in-process, 1 process: {median:,.0f} decisions/s" in notes
