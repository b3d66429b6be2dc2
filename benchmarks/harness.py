"""``installment bench``: measure the engine on this machine and record it in BENCHMARKS.md.

Four benchmarks, each printed as a table and written to its own section of the report:

- ``decisions``: one decision in process (``make_decision``: read, bureau, features, PD,
  SHAP, policy, counterfactual, store and log), and its scoring steps timed apart;
- ``http``: ``POST /v1/decisions`` against ``installment serve`` (a separate process, one
  uvicorn worker) beside ``GET /healthz`` of the same server in the same run, with the
  bureau in process and as its own process, on SQLite and on PostgreSQL; every ``201`` is
  checked for an explanation and counted in the database afterwards;
- ``batch``: features, PD and SHAP contributions for every application of a large world;
- ``training``: snapshot, contract validation and both candidates by world size.

All state (worlds, database, model registry, logs) lives under one folder, a temporary one
unless ``--state`` names a folder to reuse; ``var/`` is never touched. Servers and
workloads run as child processes started here and stopped here by their process id.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_FILE = REPO_ROOT / "BENCHMARKS.md"
KINDS = ("decisions", "http", "batch", "training")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIBRARIES = ("numpy", "pandas", "lightgbm", "scikit-learn", "fastapi", "uvicorn", "sqlalchemy")
BENCH_SEED = 2026
BENCH_AS_OF = date(2026, 11, 1)

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """A benchmark could not run (a server did not start, a workload failed)."""


@dataclass
class BenchConfig:
    """Sizes and durations of a benchmark run."""

    state: Path
    customers: int = 5000
    decisions: int = 1000
    warmup: int = 50
    http_seconds: float = 15.0
    concurrency: int = 8
    # Times each HTTP set-up is run; the machine's speed drifts between minutes, so one run
    # alone can land in a fast or a slow one.
    http_rounds: int = 1
    # After the closed loop, decisions paced at this many per second (None: not run), on up
    # to ``paced_connections`` connections: the latency at a given load, where the closed
    # loop finds the most the server can do.
    http_rate: float | None = 400.0
    paced_connections: int = 32
    databases: tuple[str, ...] = ("sqlite", "postgres")
    bureaus: tuple[str, ...] = ("in-process", "separate")
    # API processes sharing one port and the database, besides the single process.
    replicas: tuple[int, ...] = (2,)
    batch_customers: int = 100_000
    training_sizes: tuple[int, ...] = (10_000, 30_000, 100_000)
    postgres_url: str = DEFAULT_POSTGRES_URL
    bootstrap_resamples: int = 20

    @property
    def home(self) -> Path:
        return self.state / "home"

    @property
    def world(self) -> Path:
        return self.home / "world"

    def sized_world(self, customers: int) -> Path:
        return self.state / "worlds" / f"{customers}"


@dataclass
class Section:
    """One benchmark's result: a table plus what was run and on what."""

    kind: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            "| " + " | ".join(self.columns) + " |",
            "|" + "|".join("---" for _ in self.columns) + "|",
        ]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ---------------------------------------------------------------------------------------
# The machine and the child processes


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    libraries = []
    for name in LIBRARIES:
        with contextlib.suppress(Exception):
            libraries.append(f"{name} {package_version(name)}")
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "libraries": ", ".join(libraries),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def _env(config: BenchConfig, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(INSTALLMENT_HOME=str(config.home), MLFLOW_DISABLE_TELEMETRY="true")
    # Settings come from the bench home only, never from the caller's environment.
    for name in [n for n in env if n.startswith("INSTALLMENT_") and n != "INSTALLMENT_HOME"]:
        env.pop(name)
    env.update(extra)
    return env


def run_workload(name: str, arguments: dict[str, Any], *, env: dict[str, str]) -> dict[str, Any]:
    """Run ``benchmarks.workloads NAME`` in a child process and return its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.workloads", name, json.dumps(arguments)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise BenchError(f"workload {name} failed (exit {done.returncode}):\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def child_server(
    command: list[str],
    *,
    port: int,
    env: dict[str, str],
    log: Path,
    timeout_s: float = 120.0,
    ready_line: str | None = None,
) -> Iterator[subprocess.Popen]:
    """Start a server process, wait until it is ready, stop it (by its pid) after.

    Ready means ``/healthz`` answers on ``port``, or, with ``ready_line``, that the process
    wrote that line to its log (a replica on a shared port cannot be told apart by asking).
    """
    import httpx

    log.parent.mkdir(parents=True, exist_ok=True)
    start = log.stat().st_size if log.exists() else 0
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise BenchError(f"{command[1]} exited with {process.returncode}; see {log}")
            if ready_line is not None:
                with log.open("rb") as written:
                    written.seek(start)
                    if ready_line.encode() in written.read():
                        break
            else:
                with contextlib.suppress(httpx.HTTPError):
                    url = f"http://127.0.0.1:{port}/healthz"
                    if httpx.get(url, timeout=1.0).status_code == 200:
                        break
            if time.monotonic() > deadline:
                raise BenchError(f"{command[1]} did not answer on port {port}; see {log}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _installment() -> str:
    return str(Path(sys.executable).with_name("installment"))


# ---------------------------------------------------------------------------------------
# State: a world, a database holding it, a champion model


def prepare(config: BenchConfig, *, progress: Progress) -> None:
    """Make the bench home: world, migrated SQLite database with it, a LightGBM champion."""
    from scoring.config import load_settings, read_or_create_key

    settings = load_settings({"INSTALLMENT_HOME": str(config.home)})
    if not (config.world / "manifest.json").exists():
        progress(f"generating a world of {config.customers:,} customers")
        run_workload(
            "generate",
            {"customers": config.customers, "seed": BENCH_SEED, "out": str(config.world)},
            env=_env(config),
        )
    read_or_create_key(settings.pseudonym_key_file)
    ingest(config, settings.database_url, progress=progress)
    _champion(config, settings, progress=progress)


def ingest(config: BenchConfig, database_url: str, *, progress: Progress) -> None:
    """Migrate ``database_url`` and load the bench world into it (skips what is there)."""
    from scoring.config import read_or_create_key
    from scoring.storage.db import create_engine_for
    from scoring.storage.ingest import ingest_world
    from scoring.storage.migrate import upgrade

    progress("loading the world into the database")
    upgrade(database_url)
    engine = create_engine_for(database_url)
    try:
        ingest_world(
            world_dir=config.world,
            engine=engine,
            pseudonym_key=read_or_create_key(config.home / "secrets" / "pseudonym.key"),
            validation_dir=config.state / "validation",
        )
    finally:
        engine.dispose()


def _champion(config: BenchConfig, settings, *, progress: Progress) -> None:
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    from data_contracts.loader import load_contract
    from models.registry import CHAMPION, champion_version, set_alias
    from models.training.run import snapshot_from_world, train_run

    if champion_version(settings=settings) is not None:
        return
    progress("training the benchmark champion (LightGBM)")
    outcome = train_run(
        snapshot_from_world(config.world),
        load_contract("training_snapshot"),
        run_dir=config.state / "training-run",
        settings=settings,
        bootstrap_resamples=config.bootstrap_resamples,
        # A benchmark measures serving; a small bench world still gets a champion to serve.
        min_rows=50,
        min_bad=10,
    )
    # A benchmark measures the serving path, so the booster (TreeSHAP, the dearer
    # explanation) serves, whatever the promotion gates would choose for production.
    set_alias(CHAMPION, outcome.versions["lightgbm"], settings=settings)


# ---------------------------------------------------------------------------------------
# The four benchmarks


def bench_decisions(config: BenchConfig, *, progress: Progress) -> Section:
    """In-process decisions and their scoring steps."""
    progress(f"{config.decisions} in-process decisions")
    result = run_workload(
        "decisions",
        {"home": str(config.home), "count": config.decisions, "warmup": config.warmup},
        env=_env(config),
    )
    columns = ["step", "p50 ms", "p95 ms", "p99 ms", "mean ms", "n"]
    service = result["service"]
    rows = [["make_decision (read, bureau, score, explain, policy, store, log)",
             service["p50_ms"], service["p95_ms"], service["p99_ms"], service["mean_ms"],
             service["n"]]]  # fmt: skip
    labels = {
        "total": "scoring alone (the five steps below)",
        "features": "  features (applicant_features: history arrays, bureau, purchase)",
        "predict_pd": "  predict_pd",
        "explain": "  explain (TreeSHAP contributions)",
        "decide": "  policy (decide)",
        "counterfactual": "  counterfactual (candidates scored in one batch)",
    }
    for key, label in labels.items():
        part = result["parts"][key]
        rows.append(
            [label, part["p50_ms"], part["p95_ms"], part["p99_ms"], part["mean_ms"], part["n"]]
        )
    notes = [
        f"SQLite in the bench home, bureau answered in process, model {result['model']}; "
        f"outcomes {result['outcomes']}; peak RSS {result['peak_rss_mb']:.0f} MiB.",
    ]
    return Section("decisions", "Decision latency in process", columns, rows, notes, result)


def _decision_check(status: int, body: bytes) -> str | None:
    if status != 201:
        return f"status {status}"
    answer = json.loads(body)
    if not answer.get("decision_id") or "reasons" not in answer:
        return "answer without decision id or reasons"
    if answer.get("probability_of_default") is None and answer["outcome"] != "refer":
        return "scored answer without probability"
    return None


def _count_decisions(database_url: str) -> int:
    from sqlalchemy import func, select

    from scoring.storage import tables as t
    from scoring.storage.db import create_engine_for

    engine = create_engine_for(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(t.Decision)).scalar())
    finally:
        engine.dispose()


def _api_key(database_url: str, client: str) -> str:
    from scoring.service.api_keys import create_api_key
    from scoring.storage.db import UnitOfWork, create_engine_for

    engine = create_engine_for(database_url)
    try:
        issued = create_api_key(
            uow=UnitOfWork.for_engine(engine), client=client, scopes=["decisions:write"]
        )
    finally:
        engine.dispose()
    return issued.key


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for one run, dropped after it."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = {
        "host": parsed.host or "127.0.0.1", "port": parsed.port or 5432,
        "user": parsed.username or "postgres", "dbname": parsed.database or "postgres",
    }  # fmt: skip
    if parsed.password:
        conninfo["password"] = parsed.password
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**conninfo, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(**conninfo, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _http_scenario(
    config: BenchConfig,
    *,
    database: str,
    database_url: str,
    bureau: str,
    processes: int,
    progress: Progress,
) -> list[dict[str, Any]]:
    from benchmarks.loadgen import http_request, run_load
    from benchmarks.workloads import decision_bodies

    port = free_port()
    env = _env(config, INSTALLMENT_DATABASE_URL=database_url)
    logs = config.state / "logs"
    command = [_installment(), "serve", "--port", str(port), "--no-webhooks"]
    if processes > 1:
        command.append("--reuse-port")
    servers: list[subprocess.Popen] = []
    with contextlib.ExitStack() as stack:
        if bureau == "separate":
            bureau_port = free_port()
            stack.enter_context(
                child_server(
                    [_installment(), "bureau-sim", "--world", str(config.world),
                     "--port", str(bureau_port)],
                    port=bureau_port, env=env, log=logs / "bureau-sim.log",
                )
            )  # fmt: skip
            command += ["--bureau-url", f"http://127.0.0.1:{bureau_port}"]
        else:
            command += ["--in-process-bureau", str(config.world)]
        for n in range(processes):
            servers.append(
                stack.enter_context(
                    child_server(
                        command, port=port, env=env, log=logs / f"serve-{n}.log",
                        ready_line="Uvicorn running on" if processes > 1 else None,
                    )
                )
            )  # fmt: skip
        key = _api_key(database_url, f"bench-{uuid.uuid4().hex[:8]}")
        run_id = uuid.uuid4().hex[:8]
        warmup = max(config.warmup, 2 * config.concurrency)
        # Paced where the target load is meant to be carried: by API processes side by side
        # (one process alone does not reach it here, and a paced load beyond what the server
        # can do measures only how long the queue grew).
        paced = config.http_rate if processes > 1 else None
        # Far more bodies than the time allows, each application id used once.
        paced_count = math.ceil(config.http_seconds * paced) if paced else 0
        expected = int(config.http_seconds * 2000) + warmup + paced_count
        bodies = [
            json.dumps(b, separators=(",", ":")).encode()
            for b in decision_bodies(config.world, count=expected, prefix=f"HTTP-{run_id}")
        ]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def decision(i: int) -> bytes:
            return http_request(
                "POST", "/v1/decisions", host="127.0.0.1", port=port, headers=headers,
                body=bodies[i % len(bodies)],
            )  # fmt: skip

        health = http_request("GET", "/healthz", host="127.0.0.1", port=port)
        before = _count_decisions(database_url)
        label = f"http: {database}, bureau {bureau}, {processes} process(es)"
        progress(f"{label}: warm-up")
        warm = run_load(
            name="warm-up", host="127.0.0.1", port=port, make_request=decision,
            concurrency=config.concurrency, duration_s=60.0, max_requests=warmup,
            check=_decision_check,
        )  # fmt: skip
        progress(f"{label}: GET /healthz")
        floor = run_load(
            name="GET /healthz", host="127.0.0.1", port=port, make_request=lambda i: health,
            concurrency=config.concurrency, duration_s=config.http_seconds,
        )  # fmt: skip
        progress(f"{label}: POST /v1/decisions")
        # The kernel spreads connections, not requests, over processes sharing the port.
        split: list[int] = []
        counting = threading.Timer(
            min(1.0, config.http_seconds / 2),
            lambda: split.extend(_connections(server.pid, port) for server in servers),
        )
        counting.start()
        load = run_load(
            name="POST /v1/decisions", host="127.0.0.1", port=port, make_request=decision,
            concurrency=config.concurrency, duration_s=config.http_seconds,
            max_requests=len(bodies) - warmup - paced_count, check=_decision_check,
            first_index=warmup,
        )  # fmt: skip
        counting.join()
        phases = [floor, load]
        if paced:
            progress(f"{label}: POST /v1/decisions paced at {paced:g}/s")
            phases.append(
                run_load(
                    name=f"POST /v1/decisions at {paced:g}/s",
                    host="127.0.0.1", port=port, make_request=decision,
                    concurrency=config.paced_connections, duration_s=config.http_seconds,
                    max_requests=paced_count, check=_decision_check,
                    first_index=len(bodies) - paced_count, rate=paced,
                )
            )  # fmt: skip
        stored = _count_decisions(database_url) - before
        peak_mib = [_peak_rss_mib(server.pid) for server in servers]
    answered = sum(phase.statuses.get(201, 0) for phase in (warm, *phases[1:]))
    out = []
    for result in phases:
        summary = result.summary()
        summary.update(database=database, bureau=bureau, processes=processes)
        if result is load:
            summary["server_peak_mib"] = peak_mib
            summary["connections"] = split
            summary["stored"] = stored
            summary["answered_201"] = answered
            summary["problems"] = dict(result.problems)
        out.append(summary)
    return out


def _http_setups(config: BenchConfig) -> list[tuple[str, int]]:
    """(bureau, API processes) pairs: each bureau with one process, then with replicas."""
    setups = [(bureau, 1) for bureau in config.bureaus]
    setups += [(bureau, n) for n in config.replicas if n > 1 for bureau in config.bureaus]
    return setups


def _connections(pid: int, port: int) -> int:
    """How many established connections to ``port`` the process ``pid`` holds."""
    import psutil

    try:
        held = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return 0
    return sum(1 for c in held if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)


def _peak_rss_mib(pid: int) -> float | None:
    """A process's own resident-memory high-water mark (VmHWM), while it runs."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def bench_http(config: BenchConfig, *, progress: Progress) -> Section:
    """Decisions over HTTP beside the framework floor, per database and bureau set-up."""
    results: list[dict[str, Any]] = []
    notes = []
    for database in config.databases:
        with contextlib.ExitStack() as stack:
            if database == "sqlite":
                from scoring.config import load_settings

                url = load_settings({"INSTALLMENT_HOME": str(config.home)}).database_url
            else:
                try:
                    url = stack.enter_context(postgres_schema(config.postgres_url))
                except Exception as error:  # any connection failure: report, go on
                    notes.append(f"PostgreSQL skipped: {type(error).__name__}: {error}")
                    continue
                ingest(config, url, progress=progress)
            for round_ in range(1, config.http_rounds + 1):
                for bureau, processes in _http_setups(config):
                    for result in _http_scenario(
                        config, database=database, database_url=url, bureau=bureau,
                        processes=processes, progress=progress,
                    ):  # fmt: skip
                        results.append({**result, "round": round_})
    columns = ["database", "bureau", "API processes", "round", "endpoint", "concurrency",
               "requests", "errors", "unsent", "req/s", "p50 ms", "p99 ms", "max ms",
               "stored / 201", "connections per process", "peak RSS MiB"]  # fmt: skip
    rows = []
    for r in results:
        stored = f"{r['stored']:,} / {r['answered_201']:,}" if "stored" in r else ""
        memory = " + ".join(f"{m:,.0f}" for m in r["server_peak_mib"] if m) if "stored" in r else ""
        split = " + ".join(str(n) for n in r.get("connections", []))
        unsent = r["unsent"] if r.get("offered_rps") else ""
        rows.append([r["database"], r["bureau"], r["processes"], r["round"], r["name"],
                     r["concurrency"], r["requests"], r["errors"], unsent, r["throughput_rps"],
                     r["p50_ms"], r["p99_ms"], r["max_ms"], stored, split,
                     memory])  # fmt: skip
    notes.insert(
        0,
        f"`installment serve` (one uvicorn worker, uvloop + httptools) in its own process, or "
        f"two of them sharing the port (`--reuse-port`) and the database; "
        f"closed-loop load of {config.concurrency} keep-alive connections for "
        f"{config.http_seconds:g} s per endpoint from `benchmarks/loadgen.py` on the same "
        f"machine; each decision is a new application of a world customer. `stored / 201` "
        f"compares decisions counted in the database with the 201 answers (warm-up and every "
        f"phase of the set-up included); "
        f"`connections per process` is how the kernel spread the load's connections over the "
        f"processes (`SO_REUSEPORT` hashes each connection; requests follow their "
        f"connection); peak RSS is each API process's own high-water mark.",
    )
    if config.http_rate:
        notes.insert(
            1,
            f"`POST /v1/decisions at {config.http_rate:g}/s`, run with the API processes side "
            f"by side, is an open-loop load: the i-th request falls due i/{config.http_rate:g} "
            f"s after the start whatever the server does, goes out on whichever of up to "
            f"{config.paced_connections} connections is free, and its latency counts from when "
            f"it fell due, so a request held up behind a slow one counts its wait. It measures "
            f"latency at that load, where the closed loop finds the most the server can do; "
            f"`unsent` counts requests due before the end that no connection was free to send "
            f"(the server fell behind the rate).",
        )
    if config.http_rounds > 1:
        notes.insert(2 if config.http_rate else 1, _rounds_note(results, config.http_rounds))
    return Section("http", "Decisions over HTTP", columns, rows, notes, {"results": results})


def _rounds_note(results: list[dict[str, Any]], rounds: int) -> str:
    """Median decisions/s and p99 of each set-up over its rounds, with the spread."""
    by_setup: dict[tuple, list[dict[str, Any]]] = {}
    paced: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        setup = (r["database"], r["bureau"], r["processes"])
        if r["name"] == "POST /v1/decisions":
            by_setup.setdefault(setup, []).append(r)
        elif r.get("offered_rps"):
            paced.setdefault(setup, []).append(r)
    parts = []
    for setup, runs in by_setup.items():
        database, bureau, processes = setup
        rps = [r["throughput_rps"] for r in runs]
        p99 = [r["p99_ms"] for r in runs]
        part = (
            f"{database}, bureau {bureau}, {processes} process{'es' if processes > 1 else ''}: "
            f"{statistics.median(rps):,.0f} decisions/s (runs {min(rps):,.0f}-{max(rps):,.0f}), "
            f"p99 {statistics.median(p99):.1f} ms ({min(p99):.1f}-{max(p99):.1f})"
        )
        if setup in paced:
            at = [r["p99_ms"] for r in paced[setup]]
            part += (
                f", paced at {paced[setup][0]['offered_rps']:g}/s p99 "
                f"{statistics.median(at):,.1f} ms ({min(at):,.1f}-{max(at):,.1f})"
            )
        parts.append(part)
    return (
        f"Each set-up was run {rounds} times, one round of all set-ups after another; "
        "medians over the rounds: " + "; ".join(parts) + "."
    )


def _sized_world(config: BenchConfig, customers: int, *, progress: Progress) -> Path:
    folder = config.sized_world(customers)
    if not (folder / "manifest.json").exists():
        progress(f"generating a world of {customers:,} customers")
        run_workload(
            "generate",
            {"customers": customers, "seed": BENCH_SEED, "out": str(folder)},
            env=_env(config),
        )
    return folder


def bench_batch(config: BenchConfig, *, progress: Progress) -> Section:
    """Batch scoring with explanations of every application of a large world."""
    world = _sized_world(config, config.batch_customers, progress=progress)
    progress(f"batch scoring of the {config.batch_customers:,}-customer world")
    r = run_workload("batch", {"home": str(config.home), "world": str(world)}, env=_env(config))
    columns = ["applications", "invoices", "payments", "features s", "predict s", "explain s",
               "score + explain s", "peak RSS MiB"]  # fmt: skip
    rows = [[r["applications"], r["invoices"], r["payments"], r["features_s"], r["predict_s"],
             r["explain_s"], r["score_and_explain_s"], r["peak_rss_mb"]]]  # fmt: skip
    notes = [
        f"Model {r['model']}; reading the world's Parquet files took {r['read_s']} s (not "
        f"counted); largest gap between base + contributions and logit(PD): "
        f"{r['max_additivity_gap']:.1e}.",
    ]
    return Section("batch", "Batch scoring with explanations", columns, rows, notes, r)


def bench_training(config: BenchConfig, *, progress: Progress) -> Section:
    """Training time and memory by world size."""
    rows, raw = [], []
    for customers in config.training_sizes:
        world = _sized_world(config, customers, progress=progress)
        progress(f"training on the {customers:,}-customer world")
        r = run_workload("training", {"world": str(world)}, env=_env(config))
        raw.append({"customers": customers, **r})
        rows.append([customers, r["rows"], r["snapshot_s"], r["validate_s"], r["lightgbm_s"],
                     r["scorecard_s"], r["total_s"], r["trees"], r["peak_rss_mb"]])  # fmt: skip
    columns = ["customers", "applications", "snapshot s", "validation s", "LightGBM s",
               "scorecard s", "total s", "trees", "peak RSS MiB"]  # fmt: skip
    notes = [
        "Each size in a fresh process: features of every application (the snapshot), the "
        "Great Expectations validation against the snapshot contract (its import included), "
        "the monotone LightGBM with early stopping and the WoE scorecard.",
    ]
    return Section("training", "Training time by data size", columns, rows, notes, {"runs": raw})


BENCHES: dict[str, Callable[..., Section]] = {
    "decisions": bench_decisions,
    "http": bench_http,
    "batch": bench_batch,
    "training": bench_training,
}


def run(kinds: list[str], config: BenchConfig, *, progress: Progress) -> list[Section]:
    """Prepare the state the chosen benchmarks need and run them in order."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise BenchError(f"unknown benchmark(s) {unknown}; choose from {list(KINDS)} or all")
    config.state.mkdir(parents=True, exist_ok=True)
    if {"decisions", "http", "batch"} & set(kinds):
        prepare(config, progress=progress)
    return [BENCHES[kind](config, progress=progress) for kind in kinds]


# ---------------------------------------------------------------------------------------
# The report


def section_text(section: Section, *, command: str, host: dict[str, str]) -> str:
    """The Markdown of one section as kept in BENCHMARKS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {section.title}",
        "",
        f"Measured {stamp} with `{command}`.",
        f"Machine: {host['cpus']} CPUs ({host['cpu']}), {host['memory']} memory, "
        f"load average at start {host['load']}; Python {host['python']}; {host['libraries']}.",
        "",
        section.markdown(),
        "",
        *section.notes,
    ]
    return "\n".join(lines).rstrip() + "\n"


def update_report(path: Path, sections: list[Section], *, command: str) -> None:
    """Replace each benchmark's section of the report (others stay as they were)."""
    host = machine()
    text = path.read_text() if path.exists() else ""
    for section in sections:
        begin, end = f"<!-- bench:{section.kind} -->", f"<!-- /bench:{section.kind} -->"
        block = f"{begin}\n{section_text(section, command=command, host=host)}{end}"
        if begin in text and end in text:
            head, _, rest = text.partition(begin)
            _, _, tail = rest.partition(end)
            text = head + block + tail
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text.lstrip())
