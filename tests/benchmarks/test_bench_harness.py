"""The benchmark harness runs end to end on a tiny world, so `installment bench` never rots."""

from __future__ import annotations

import asyncio
import statistics
import threading

import pytest

from benchmarks.harness import BenchConfig, Section, run, update_report
from benchmarks.loadgen import LoadError, http_request, run_load


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
        bootstrap_resamples=20, http_rounds=2, http_rate=20.0, paced_connections=2,
    )  # fmt: skip
    decisions, http, batch = run(["decisions", "http", "batch"], config, progress=print)

    assert decisions.raw["service"]["n"] == 5 and decisions.raw["service"]["p50_ms"] > 0
    assert set(decisions.raw["parts"]) >= {"features", "predict_pd", "explain", "decide"}

    # Two rounds of the same set-ups, one after the other.
    results = http.raw["results"]
    assert [r["round"] for r in results] == [1] * 5 + [2] * 5
    assert [r["processes"] for r in results[:5]] == [r["processes"] for r in results[5:]]
    floor, served, replicas_floor, replicas, paced = results[:5]
    assert floor["name"] == "GET /healthz" and floor["errors"] == 0 and floor["requests"] > 0
    assert served["name"] == "POST /v1/decisions" and served["errors"] == 0
    assert served["requests"] > 0
    # Every decision answered 201 is in the database, explained.
    assert served["stored"] == served["answered_201"] > served["requests"] - 1
    # Two API processes on one port and one database: the same holds.
    assert (floor["processes"], replicas_floor["processes"], replicas["processes"]) == (1, 2, 2)
    assert replicas["errors"] == 0 and replicas["requests"] > 0
    # Then paced at 20/s for half a second, each latency counted from when it fell due; its
    # answers too are stored.
    assert paced["name"] == "POST /v1/decisions at 20/s" and paced["offered_rps"] == 20.0
    assert paced["processes"] == 2 and paced["errors"] == 0
    assert paced["requests"] + paced["unsent"] == 10
    answered = replicas["requests"] + paced["requests"]
    assert replicas["stored"] == replicas["answered_201"] > answered - 1
    assert len(replicas["server_peak_mib"]) == 2 and all(replicas["server_peak_mib"])
    # The load's two connections, counted where the kernel put them.
    assert sum(served["connections"]) == sum(replicas["connections"]) == 2

    assert batch.raw["applications"] > 250
    assert batch.raw["max_additivity_gap"] < 1e-9
    for again in results[5:]:
        assert again["errors"] == 0 and again["requests"] > 0
        assert again.get("stored", 0) == again.get("answered_201", 0)
    assert "| database | bureau | API processes | round | endpoint |" in http.markdown()
    # The medians over the rounds are named per set-up, from the rounds' own figures.
    median = statistics.median([r["throughput_rps"] for r in (served, results[6])])
    notes = " ".join(http.notes)
    assert "run 2 times" in notes
    assert f"sqlite, bureau in-process, 1 process: {median:,.0f} decisions/s" in notes
    assert "2 processes: " in notes and "paced at 20/s p99" in notes and "open-loop" in notes


class _SlowOnce:
    """A loopback HTTP server answering 204, once holding one answer back for ``stall_s``."""

    def __init__(self, stall_s: float, stall_at: int) -> None:
        self.stall_s, self.stall_at, self.seen = stall_s, stall_at, 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(5)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader, writer) -> None:
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            self.seen += 1
            if self.seen == self.stall_at:
                await asyncio.sleep(self.stall_s)
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _close(self) -> None:
        self.server.close()
        clients = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)


def _load_with_one_stall(*, stall_at: int, **load):
    """``run_load`` on one connection against a server that holds answer ``stall_at`` 0.3 s."""
    server = _SlowOnce(stall_s=0.3, stall_at=stall_at)
    request = http_request("GET", "/", host="127.0.0.1", port=server.port)
    try:
        return run_load(
            name="load", host="127.0.0.1", port=server.port, make_request=lambda i: request,
            concurrency=1, **load,
        )  # fmt: skip
    finally:
        server.stop()


def test_a_paced_load_sends_at_its_rate_and_counts_a_stall_against_the_requests_behind_it():
    paced = _load_with_one_stall(stall_at=10, duration_s=1.0, rate=50.0)
    assert paced.offered == 50 and paced.statuses == {204: paced.requests}
    # The stall held up the one connection; the requests that fell due meanwhile were sent
    # late, and their latency counts from when they were due, not from when they went out.
    late = [ms for ms in paced.latencies_ms[10:25] if ms > 50]
    assert len(late) >= 10
    assert max(paced.latencies_ms) >= 290
    assert paced.latencies_ms[11] >= 250  # due 20 ms after the stalled one, sent ~280 ms late
    assert paced.requests + paced.unsent == 50
    assert paced.summary()["offered_rps"] == 50.0


def test_a_closed_loop_sends_back_to_back_and_times_each_request_from_its_send():
    closed = _load_with_one_stall(stall_at=5, duration_s=0.6)
    assert closed.requests > 20 and closed.unsent == 0 and closed.rate is None
    # Only the stalled request itself is slow: a closed loop does not see the wait it caused.
    assert sum(ms > 250 for ms in closed.latencies_ms) == 1


def test_a_paced_load_needs_a_positive_rate():
    with pytest.raises(LoadError, match="positive rate"):
        run_load(name="x", host="127.0.0.1", port=1, make_request=lambda i: b"",
                 concurrency=1, duration_s=1.0, rate=0)  # fmt: skip
