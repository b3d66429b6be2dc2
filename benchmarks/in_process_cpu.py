"""One build's in-process decision: CPU time and Python calls per ``make_decision``.

Run with the build's own interpreter from its checkout, on a bench state made by
``installment bench decisions --state DIR``; builds are compared by running this for each,
alternating, in one sitting::

    cd /work/wt-old && .venv/bin/python /work/main/benchmarks/in_process_cpu.py \\
        --checkout . --home /tmp/perf/state-old/home --decisions 800

The build's own ``benchmarks.workloads.decisions`` makes the decisions (its runtime, its
bureau in process, its bodies); ``make_decision`` is wrapped to read the decision thread's
CPU time (``time.thread_time``), which other load on the machine inflates far less than
wall time. ``--profile FILE`` also counts the Python calls of each decision (cProfile; a
deterministic count, and the profile is written to FILE for ``pstats``); take the CPU figures
from a run without it, as the profiler slows each call.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time

WARMUP = 200


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", required=True, help="the build's checkout")
    parser.add_argument("--home", required=True, help="the bench state's home folder")
    parser.add_argument("--decisions", type=int, default=800)
    parser.add_argument("--profile", help="write a cProfile of the timed decisions here")
    options = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(options.checkout))
    os.chdir(options.checkout)
    import scoring.service.decisions as decisions_module
    from benchmarks import workloads

    decide = decisions_module.make_decision
    profile = cProfile.Profile() if options.profile else None
    cpu: list[float] = []
    seen = 0

    def timed(**arguments):  # type: ignore[no-untyped-def]
        nonlocal seen
        seen += 1
        if seen <= WARMUP:
            return decide(**arguments)
        started = time.thread_time()
        if profile:
            profile.enable()
        try:
            return decide(**arguments)
        finally:
            if profile:
                profile.disable()
            cpu.append(time.thread_time() - started)

    decisions_module.make_decision = timed  # type: ignore[assignment]
    workloads.decision_parts = lambda *a, **k: {}  # only the whole decision is timed here
    workloads.decisions(home=options.home, count=options.decisions, warmup=WARMUP)
    result = {
        "decisions": len(cpu),
        "cpu_ms_p50": round(1000 * statistics.median(cpu), 3),
        "cpu_ms_mean": round(1000 * statistics.mean(cpu), 3),
    }
    if profile:
        stats = pstats.Stats(profile)
        result["python_calls_per_decision"] = round(stats.total_calls / len(cpu), 1)  # type: ignore[attr-defined]
        stats.dump_stats(options.profile)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
