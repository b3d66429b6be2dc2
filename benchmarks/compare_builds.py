"""Two builds side by side: what one decision costs each, over HTTP, in the same run.

Throughput moves up to threefold over a day on this machine, so two builds are compared
only alternating in one run. Requests per second still move with whatever else runs; the
resources a decision uses move much less: the API processes' CPU time, read and write
system calls and context switches, each divided by the decisions answered. Those are what
this script reports, with the rate beside them.

Each build is a checkout with its own environment (``make bootstrap``) and its own bench
state (``installment bench http --state DIR ...`` once, which makes the world, the
database and the champion). For every round and build: ``--processes`` (two) ``installment serve
--reuse-port`` processes with the bureau in process and one decision thread each, a warm-up,
then ``--decisions`` new applications over ``--connections`` keep-alive connections
(closed loop), with ``/proc`` read before and after::

    python -m benchmarks.compare_builds --build old=/work/wt-old:/tmp/bench-old \\
        --build new=/work/main:/tmp/bench-new --rounds 3

Linux only (``/proc``); everything talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.loadgen import http_request, run_load
from benchmarks.workloads import decision_bodies

WARMUP = 400
_ISSUE_KEY = (
    "import sys\n"
    "from scoring.service.api_keys import create_api_key\n"
    "from scoring.storage.db import UnitOfWork, create_engine_for\n"
    "engine = create_engine_for(sys.argv[1])\n"
    "uow = UnitOfWork.for_engine(engine)\n"
    "print(create_api_key(uow=uow, client=sys.argv[2], scopes=['decisions:write']).key)\n"
)


@dataclass(frozen=True)
class Build:
    """A named checkout and the bench state its servers use."""

    name: str
    checkout: Path
    state: Path

    @classmethod
    def parse(cls, text: str) -> Build:
        name, _, paths = text.partition("=")
        checkout, _, state = paths.partition(":")
        if not (name and checkout and state):
            raise argparse.ArgumentTypeError(f"expected NAME=CHECKOUT:STATE, got {text!r}")
        build = cls(name, Path(checkout), Path(state))
        if not (build.checkout / ".venv" / "bin" / "installment").is_file():
            raise argparse.ArgumentTypeError(f"{checkout} has no .venv; run `make bootstrap` there")
        if not (build.state / "home" / "installment.db").is_file():
            raise argparse.ArgumentTypeError(
                f"{state} is not a bench state; make it with "
                f"`installment bench http --state {state}`"
            )
        return build


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"no server listened on port {port} within {seconds:.0f} s")


def _usage(pid: int) -> dict[str, float]:
    """CPU seconds, I/O system calls and context switches of a process so far (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    voluntary = involuntary = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text().splitlines()
        counts = dict(line.split(":\t") for line in status if "ctxt_switches" in line)
        voluntary += int(counts["voluntary_ctxt_switches"])
        involuntary += int(counts["nonvoluntary_ctxt_switches"])
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "cpu_ms": (int(fields[11]) + int(fields[12])) / ticks * 1000,
        "read_calls": int(io["syscr"]),
        "write_calls": int(io["syscw"]),
        "voluntary_switches": voluntary,
        "involuntary_switches": involuntary,
    }


def measure(
    build: Build, *, decisions: int, connections: int, processes: int = 2
) -> dict[str, float]:
    """One round of one build: per-decision resources of its API processes, and the rate."""
    home = build.state / "home"
    database_url = f"sqlite:///{home / 'installment.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSTALLMENT_")}
    env.update(
        INSTALLMENT_HOME=str(home),
        INSTALLMENT_DATABASE_URL=database_url,
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    port = _free_port()
    command = [
        str(build.checkout / ".venv" / "bin" / "installment"), "serve", "--port", str(port),
        "--no-webhooks", "--reuse-port", "--in-process-bureau", str(home / "world"),
    ]  # fmt: skip
    servers = [
        subprocess.Popen(
            command,
            env=env,
            cwd=build.checkout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(processes)
    ]
    try:
        _wait_for_port(port, seconds=240)
        if processes > 1:
            time.sleep(20)  # the other processes bind the shared port after their start-up
        key = subprocess.run(
            [str(build.checkout / ".venv" / "bin" / "python"), "-c", _ISSUE_KEY,
             database_url, f"compare-{uuid.uuid4().hex[:8]}"],
            env=env, cwd=build.checkout, capture_output=True, text=True, check=True,
        ).stdout.split()[-1]  # fmt: skip
        bodies = [
            json.dumps(body, separators=(",", ":")).encode()
            for body in decision_bodies(
                home / "world", count=WARMUP + decisions, prefix=f"CMP-{uuid.uuid4().hex[:6]}"
            )
        ]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def decision(i: int) -> bytes:
            return http_request(
                "POST", "/v1/decisions", host="127.0.0.1", port=port, headers=headers,
                body=bodies[i],
            )  # fmt: skip

        def created(status: int, body: bytes) -> str | None:
            return None if status == 201 else f"status {status}"

        run_load(
            name="warm-up", host="127.0.0.1", port=port, make_request=decision,
            concurrency=connections, duration_s=120, max_requests=WARMUP, check=created,
        )  # fmt: skip
        before = [_usage(server.pid) for server in servers]
        started = time.perf_counter()
        load = run_load(
            name="decisions", host="127.0.0.1", port=port, make_request=decision,
            concurrency=connections, duration_s=600, max_requests=decisions,
            check=created, first_index=WARMUP,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        after = [_usage(server.pid) for server in servers]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(60)
    answered = load.statuses.get(201, 0)
    if answered != decisions:
        raise RuntimeError(
            f"{build.name}: {answered} of {decisions} answered 201 ({load.statuses})"
        )
    result = {"decisions_per_s": answered / elapsed}
    for name in before[0]:
        spent = sum(a[name] - b[name] for a, b in zip(after, before, strict=True))
        result[f"{name}_per_decision"] = spent / answered
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Build.parse, action="append", required=True,
                        help="NAME=CHECKOUT:STATE (give two or more)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--decisions", type=int, default=1500)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2, help="API processes per build")
    options = parser.parse_args(argv)
    if len(options.build) < 2:
        parser.error("give at least two --build")
    results: dict[str, list[dict[str, float]]] = {build.name: [] for build in options.build}
    for round_ in range(1, options.rounds + 1):
        # Alternate the order, so neither build always runs on a machine the other warmed.
        order = options.build if round_ % 2 else list(reversed(options.build))
        for build in order:
            result = measure(
                build, decisions=options.decisions, connections=options.connections,
                processes=options.processes,
            )  # fmt: skip
            results[build.name].append(result)
            print(json.dumps({"round": round_, "build": build.name, **result}), flush=True)
    print()
    metrics = list(next(iter(results.values()))[0])
    print("| metric (median of rounds) | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for metric in metrics:
        medians = [statistics.median(r[metric] for r in rounds) for rounds in results.values()]
        print(f"| {metric} | " + " | ".join(f"{m:,.2f}" for m in medians) + " |")


if __name__ == "__main__":
    sys.exit(main())
