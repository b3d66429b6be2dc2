"""``installment soak``: a bounded, steady load on one API process, then a reconciliation.

One ``installment serve`` child process (one uvicorn worker on 127.0.0.1, the bureau
simulator in process) is given requests at a fixed rate for a fixed time: decisions for
customers of a generated world and for new applicants, with every tenth request sent
again under the same ``Idempotency-Key``. Afterwards the answers are compared with the
database and the decision log:

- every decision answered is stored once and logged once (none lost, none duplicated);
- a retried request got the same decision back;
- the decision log's hash chain verifies (``scoring.service.decision_log.verify``).

Latency percentiles are reported per minute and the server's resident memory is sampled
every second. The run fails on any 5xx, transport error, lost or duplicated decision, or
chain break. World, database and model live in one state folder (a temporary one unless
named), built with the benchmark's preparation (``benchmarks.harness.prepare``).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

Progress = Callable[[str], None]
RETRY_EVERY = 10
CATEGORIES = ("electronics", "phone", "smart_home", "home_appliance", "heat_pump", "solar_panels")
TERMS = (6, 12, 24, 36)


class SoakError(RuntimeError):
    """The soak could not run (preparation failed, the server did not start)."""


@dataclass(frozen=True)
class SoakConfig:
    """What to run: duration, rate, database and where state lives."""

    state: Path
    minutes: float
    rate: float
    database_url: str | None = None
    customers: int = 800
    workers: int = 8
    seed: int = 2026

    @property
    def total_requests(self) -> int:
        return max(1, int(self.minutes * 60 * self.rate))


@dataclass(frozen=True)
class Exchange:
    """One request of the load and what came back."""

    index: int
    application_id: str
    scheduled_s: float
    latency_s: float
    status: int | None
    decision_id: str | None
    retry_of: int | None = None
    error: str | None = None


@dataclass
class SoakReport:
    """The figures of one run, and the problems that make it fail."""

    config: SoakConfig
    duration_s: float
    exchanges: list[Exchange]
    rss_samples: list[tuple[float, int]]
    stored_decisions: int
    logged_entries: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def statuses(self) -> Counter[str]:
        return Counter(str(e.status) if e.status else "no answer" for e in self.exchanges)

    def per_minute(self) -> list[dict[str, Any]]:
        """Requests, errors and latency percentiles (ms) per minute of scheduled time."""
        buckets: dict[int, list[Exchange]] = defaultdict(list)
        for exchange in self.exchanges:
            buckets[int(exchange.scheduled_s // 60)].append(exchange)
        rows = []
        for minute in sorted(buckets):
            done = buckets[minute]
            latencies = sorted(e.latency_s * 1000 for e in done if e.status)
            rss = [kib for t, kib in self.rss_samples if minute * 60 <= t < (minute + 1) * 60]
            rows.append(
                {
                    "minute": minute + 1,
                    "requests": len(done),
                    "errors": sum(1 for e in done if not e.status or e.status >= 500),
                    "p50_ms": _percentile(latencies, 50),
                    "p95_ms": _percentile(latencies, 95),
                    "p99_ms": _percentile(latencies, 99),
                    "max_ms": latencies[-1] if latencies else None,
                    "rss_mib": rss[-1] / 1024 if rss else None,
                }
            )
        return rows

    def rss_growth_mib(self) -> float | None:
        """RSS at the end minus RSS after the first tenth of the run (warm-up excluded)."""
        if len(self.rss_samples) < 2:
            return None
        warm = self.duration_s * 0.1
        after = [kib for t, kib in self.rss_samples if t >= warm] or [self.rss_samples[0][1]]
        return (self.rss_samples[-1][1] - after[0]) / 1024

    def text(self) -> str:
        """The human-readable summary the command prints."""
        lines = [
            f"soak: {self.config.minutes:g} min at {self.config.rate:g}/s, "
            f"{len(self.exchanges)} requests in {self.duration_s:.1f} s "
            f"({len(self.exchanges) / max(self.duration_s, 1e-9):.1f}/s achieved)",
            "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses().items())),
            f"stored decisions: {self.stored_decisions}, decision-log entries: "
            f"{self.logged_entries}",
        ]
        growth = self.rss_growth_mib()
        first = self.rss_samples[0][1] / 1024 if self.rss_samples else None
        if growth is not None and first is not None:
            lines.append(
                f"server RSS: {first:.0f} MiB at start, growth after warm-up {growth:+.1f} MiB"
            )
        lines.append(self.markdown())
        lines.append("result: " + ("OK" if self.ok else "FAILED"))
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)

    def section(self) -> Any:
        """The run as a ``BENCHMARKS.md`` section (see ``benchmarks.harness.update_report``)."""
        from benchmarks.harness import Section

        rows = [
            [r["minute"], r["requests"], r["errors"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
             r["max_ms"], r["rss_mib"]]
            for r in self.per_minute()
        ]  # fmt: skip
        growth = self.rss_growth_mib()
        first = self.rss_samples[0][1] / 1024 if self.rss_samples else None
        notes = [
            f"{len(self.exchanges):,} requests in {self.duration_s:.0f} s at a steady "
            f"{self.config.rate:g}/s ({self.config.database_url and 'PostgreSQL' or 'SQLite'}); "
            "statuses "
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.statuses().items()))
            + f"; {self.stored_decisions:,} decisions stored and {self.logged_entries:,} "
            "decision-log entries, reconciled one by one with the answers "
            + ("(no 5xx, none lost, none stored twice)." if self.ok else "FAILED:"),
            *[f"- {p}" for p in self.problems],
        ]
        if growth is not None and first is not None:
            notes.append(
                f"Server resident memory {first:.0f} MiB at start; growth after the first "
                f"tenth of the run {growth:+.1f} MiB."
            )
        columns = ["minute", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms",
                   "RSS MiB"]  # fmt: skip
        return Section("soak", "Soak", columns, rows, notes)

    def markdown(self) -> str:
        columns = [
            "minute",
            "requests",
            "errors",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "RSS MiB",
        ]
        rows = [
            "| " + " | ".join(columns) + " |",
            "|" + "|".join("---" for _ in columns) + "|",
        ]
        for row in self.per_minute():
            cells = [row["minute"], row["requests"], row["errors"], row["p50_ms"], row["p95_ms"],
                     row["p99_ms"], row["max_ms"], row["rss_mib"]]  # fmt: skip
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(rows)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    rank = min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))
    return values[rank]


# ---------------------------------------------------------------------------------------
# Preparation and the server


def prepare_state(config: SoakConfig, *, progress: Progress) -> tuple[str, Path]:
    """World, migrated database holding it and a champion; returns (database URL, world)."""
    from benchmarks.harness import BenchConfig, ingest, prepare

    bench = BenchConfig(state=config.state, customers=config.customers, bootstrap_resamples=5)
    try:
        prepare(bench, progress=progress)
        if config.database_url:
            ingest(bench, config.database_url, progress=progress)
    except Exception as error:  # a failed step names itself; the soak cannot start
        raise SoakError(f"preparing the soak state failed: {error}") from error
    from scoring.config import load_settings

    url = config.database_url or load_settings({"INSTALLMENT_HOME": str(bench.home)}).database_url
    return url, bench.world


def _server_env(config: SoakConfig, database_url: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("INSTALLMENT_")}
    env.update(
        INSTALLMENT_HOME=str(config.state / "home"),
        INSTALLMENT_DATABASE_URL=database_url,
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    return env


def _issue_key(database_url: str) -> str:
    from scoring.service.api_keys import create_api_key
    from scoring.storage.db import UnitOfWork, create_engine_for

    engine = create_engine_for(database_url)
    try:
        issued = create_api_key(
            uow=UnitOfWork.for_engine(engine), client="soak",
            scopes=["decisions:write", "decisions:read"],
        )  # fmt: skip
    finally:
        engine.dispose()
    return issued.key


def _rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


# ---------------------------------------------------------------------------------------
# The load


def _applicants(world: Path, *, seed: int) -> list[str]:
    """Codes of world customers (known to the bureau) and some new applicants."""
    from data_contracts.world_folder import read_frame
    from scoring.domain.personal_code import build

    customers = read_frame(world, "customers.parquet", columns=["personal_code"])
    codes = list(customers["personal_code"])
    chooser = random.Random(seed)
    for _ in range(max(10, len(codes) // 10)):
        born = date(chooser.randint(1950, 2004), chooser.randint(1, 12), chooser.randint(1, 28))
        codes.append(build(born, female=chooser.random() < 0.5, serial=chooser.randint(0, 999)))
    return codes


def _body(application_id: str, code: str, chooser: random.Random) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "personal_code": code,
        "purchase": {
            "amount_eur": round(chooser.uniform(80, 4000), 2),
            "term_months": chooser.choice(TERMS),
            "product_category": chooser.choice(CATEGORIES),
        },
        "channel": chooser.choice(("web", "store", "phone")),
    }


def run_load(
    *, base_url: str, key: str, codes: list[str], config: SoakConfig, pid: int, run_tag: str
) -> tuple[list[Exchange], list[tuple[float, int]], float]:
    """Send the fixed-rate load; returns the exchanges, RSS samples and the duration."""
    import httpx

    chooser = random.Random(config.seed)
    plan = []
    for index in range(config.total_requests):
        application_id = f"SOAK-{run_tag}-{index:07d}"
        plan.append((index, application_id, _body(application_id, chooser.choice(codes), chooser)))
    exchanges: list[Exchange] = []
    lock = threading.Lock()
    cursor = iter(plan)
    started = time.monotonic()
    stop_at = started + config.minutes * 60 + 30  # a stuck server cannot hold the run open
    samples: list[tuple[float, int]] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(1.0):
            kib = _rss_kib(pid)
            if kib is not None:
                samples.append((time.monotonic() - started, kib))

    def send(client: httpx.Client, item: tuple[int, str, dict], *, retry: bool) -> Exchange:
        index, application_id, body = item
        scheduled = index / config.rate
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": application_id}
        sent = time.monotonic()
        try:
            response = client.post("/v1/decisions", json=body, headers=headers)
            answered = response.json() if response.status_code < 300 else {}
            return Exchange(index, application_id, scheduled, time.monotonic() - sent,
                            response.status_code, answered.get("decision_id"),
                            index if retry else None)  # fmt: skip
        except (httpx.HTTPError, json.JSONDecodeError) as error:
            return Exchange(index, application_id, scheduled, time.monotonic() - sent, None,
                            None, index if retry else None, type(error).__name__)  # fmt: skip

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            while True:
                with lock:
                    item = next(cursor, None)
                if item is None:
                    return
                due = started + item[0] / config.rate
                if due > stop_at:
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                done = [send(client, item, retry=False)]
                if item[0] % RETRY_EVERY == 0:
                    done.append(send(client, item, retry=True))
                with lock:
                    exchanges.extend(done)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=worker) for _ in range(config.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    sampling.set()
    sampler.join()
    return sorted(exchanges, key=lambda e: (e.index, e.retry_of is not None)), samples, duration


# ---------------------------------------------------------------------------------------
# Reconciliation


def reconcile(
    database_url: str, exchanges: list[Exchange], *, run_tag: str
) -> tuple[int, int, list[str]]:
    """Compare the answers with stored decisions and the log; returns counts and problems."""
    from sqlalchemy import func, select

    from scoring.service.decision_log import verify
    from scoring.storage.db import create_engine_for, session_factory
    from scoring.storage.tables import Application, Decision, DecisionLogEntry

    problems: list[str] = []
    server_errors = [e for e in exchanges if e.status is not None and e.status >= 500]
    if server_errors:
        problems.append(f"{len(server_errors)} answers were 5xx "
                        f"({Counter(e.status for e in server_errors)})")  # fmt: skip
    unanswered = [e for e in exchanges if e.status is None]
    if unanswered:
        problems.append(f"{len(unanswered)} requests got no answer "
                        f"({Counter(e.error for e in unanswered)})")  # fmt: skip
    refused = Counter(e.status for e in exchanges if e.status and 400 <= e.status < 500)
    if refused:
        problems.append(f"well-formed requests were refused: {dict(refused)}")

    answered: dict[str, str] = {}
    for exchange in exchanges:
        if exchange.decision_id is None:
            continue
        earlier = answered.setdefault(exchange.application_id, exchange.decision_id)
        if earlier != exchange.decision_id:
            problems.append(f"{exchange.application_id}: a retry got another decision")

    engine = create_engine_for(database_url)
    try:
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Application.external_id, Decision.id)
                .join(Decision, Decision.application_id == Application.id)
                .where(Application.external_id.like(f"SOAK-{run_tag}-%"))
            ).all()
            stored: dict[str, list[str]] = defaultdict(list)
            for external_id, decision_id in rows:
                stored[external_id].append(decision_id)
            ids = [d for ds in stored.values() for d in ds]
            logged: Counter[str] = Counter()
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                logged.update(
                    dict(
                        session.execute(
                            select(DecisionLogEntry.decision_id, func.count())
                            .where(DecisionLogEntry.decision_id.in_(chunk))
                            .group_by(DecisionLogEntry.decision_id)
                        ).all()
                    )
                )
            breaks = verify(session=session)
    finally:
        engine.dispose()

    lost = [a for a, d in answered.items() if d not in stored.get(a, [])]
    duplicated = [a for a, ds in stored.items() if len(ds) > 1]
    unlogged = [d for d in ids if logged.get(d, 0) != 1]
    stored_unanswered = [a for a in stored if a not in answered]
    if lost:
        problems.append(f"{len(lost)} answered decisions are not stored (first: {lost[0]})")
    if duplicated:
        problems.append(f"{len(duplicated)} applications have several decisions")
    if unlogged:
        problems.append(f"{len(unlogged)} stored decisions are not logged exactly once")
    if stored_unanswered:
        problems.append(f"{len(stored_unanswered)} decisions were stored but never answered")
    if breaks:
        problems.append(f"the decision log has {len(breaks)} breaks: {breaks[0].message}")
    return len(ids), sum(logged.values()), problems


# ---------------------------------------------------------------------------------------
# The whole run


def run_soak(config: SoakConfig, *, progress: Progress = lambda _m: None) -> SoakReport:
    """Prepare, start the server, run the load, stop it, reconcile, report."""
    import sys

    from benchmarks.harness import BenchError, child_server, free_port

    if config.rate <= 0 or config.minutes <= 0:
        raise SoakError("--minutes and --rate must be positive")
    database_url, world = prepare_state(config, progress=progress)
    key = _issue_key(database_url)
    codes = _applicants(world, seed=config.seed)
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("installment")), "serve", "--host", "127.0.0.1",
        "--port", str(port), "--in-process-bureau", str(world),
    ]  # fmt: skip
    run_tag = uuid.uuid4().hex[:8]
    progress(f"server on 127.0.0.1:{port}; {config.total_requests} requests at {config.rate:g}/s")
    try:
        with child_server(
            command, port=port, env=_server_env(config, database_url),
            log=config.state / "logs" / f"soak-serve-{run_tag}.log",
        ) as server:  # fmt: skip
            exchanges, samples, duration = run_load(
                base_url=f"http://127.0.0.1:{port}", key=key, codes=codes, config=config,
                pid=server.pid, run_tag=run_tag,
            )  # fmt: skip
    except BenchError as error:
        raise SoakError(str(error)) from error
    progress("reconciling answers with the database and the decision log")
    stored, logged, problems = reconcile(database_url, exchanges, run_tag=run_tag)
    return SoakReport(config, duration, exchanges, samples, stored, logged, problems)
