"""A short soak in the suite: a real server under a steady load, then reconciled.

The 20-minute run is ``installment soak --minutes 20 --rate 20`` (docs/decision-api.md).
"""

from __future__ import annotations

import pytest

from benchmarks.soak import Exchange, SoakConfig, reconcile, run_soak

pytestmark = pytest.mark.slow


def test_a_short_soak_answers_stores_and_logs_every_decision_once(tmp_path):
    config = SoakConfig(state=tmp_path, minutes=0.35, rate=8, customers=300)
    report = run_soak(config)

    assert report.ok, report.problems
    statuses = report.statuses()
    assert statuses["201"] == config.total_requests
    assert statuses["200"] == len(range(0, config.total_requests, 10))  # the retries
    assert set(statuses) == {"200", "201"}
    assert report.stored_decisions == config.total_requests
    assert report.logged_entries == config.total_requests
    minutes = report.per_minute()
    assert [row["minute"] for row in minutes] == [1]
    assert minutes[0]["errors"] == 0 and minutes[0]["p99_ms"] is not None
    assert report.rss_samples, "the server's memory was sampled"
    assert report.rss_growth_mib() is not None
    assert "result: OK" in report.text()

    from benchmarks.harness import update_report

    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\n<!-- bench:http -->\nkept\n<!-- /bench:http -->\n")
    update_report(target, [report.section()], command="installment soak --minutes 0.35")
    written = target.read_text()
    assert "<!-- bench:http -->\nkept\n" in written
    assert "## Soak" in written and "`installment soak --minutes 0.35`" in written
    assert f"| 1 | {config.total_requests + len(range(0, config.total_requests, 10))} | 0 |" in (
        written
    )
    assert "none lost, none stored twice" in written


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def exchange(index: int, status: int | None, decision_id: str | None, **kw) -> Exchange:  # type: ignore[no-untyped-def]
    return Exchange(index, f"SOAK-t-{index:07d}", index / 10, 0.01, status, decision_id, **kw)


def test_reconciliation_reports_lost_decisions_server_errors_and_silence(migrated_engine, db_url):  # type: ignore[no-untyped-def]
    answered_but_not_stored = exchange(0, 201, "3f1c2d3e-0000-4000-8000-000000000000")
    exchanges = [answered_but_not_stored, exchange(1, 503, None), exchange(2, None, None,
                 error="ReadTimeout")]  # fmt: skip

    stored, logged, problems = reconcile(db_url, exchanges, run_tag="t")

    assert (stored, logged) == (0, 0)
    assert any("answers were 5xx" in p for p in problems)
    assert any("got no answer" in p and "ReadTimeout" in p for p in problems)
    assert any("1 answered decisions are not stored" in p for p in problems)


def test_reconciliation_reports_a_retry_answered_with_another_decision(migrated_engine, db_url):  # type: ignore[no-untyped-def]
    first = exchange(0, 201, "11111111-0000-4000-8000-000000000000")
    retry = exchange(0, 200, "22222222-0000-4000-8000-000000000000", retry_of=0)
    _stored, _logged, problems = reconcile(db_url, [first, retry], run_tag="t")
    assert any("a retry got another decision" in p for p in problems)


def test_a_soak_refuses_a_rate_or_duration_that_is_not_positive(tmp_path):
    from benchmarks.soak import SoakError

    with pytest.raises(SoakError, match="must be positive"):
        run_soak(SoakConfig(state=tmp_path, minutes=0, rate=5))
