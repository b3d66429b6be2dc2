"""The real client against the simulator running as a uvicorn subprocess on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from scoring.bureau.breaker import CircuitBreaker
from scoring.bureau.client import BureauClient, BureauMalformedAnswer, BureauUnavailable
from scoring.bureau.simulator import FaultSettings, run_simulator


def test_client_and_simulator_over_a_socket_with_faults_switched_at_run_time(tiny_world):
    code = tiny_world.codes[2]
    with run_simulator(tiny_world.path, faults=FaultSettings(), seed=5) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        breaker = CircuitBreaker(failure_threshold=2, cooldown_s=0.0)
        with BureauClient(
            base_url, timeout_s=1.0, overall_budget_s=2.0, breaker=breaker
        ) as client, httpx.Client(base_url=base_url, timeout=2.0) as admin:  # fmt: skip
            first = client.fetch_report(code)
            second = client.fetch_report(code)
            assert first.report_id != second.report_id
            assert first.risk_class == second.risk_class == "satisfactory"
            assert first.closed_default_count == 1 and len(first.default_entries) == 1

            admin.post("/admin/faults", json={"down": True}).raise_for_status()
            with pytest.raises(BureauUnavailable) as caught:
                client.fetch_report(code)
            assert caught.value.status_code == 503
            assert client.stats.attempts["server_error"] == 2, "retried once, then gave up"

            admin.post("/admin/faults", json={"down": False, "latency_ms": 400})
            client.timeout_s, client.overall_budget_s = 0.1, 0.15
            with pytest.raises(BureauUnavailable) as caught:
                client.fetch_report(code)
            assert caught.value.reason in {"timeout", "budget_exhausted"}

            admin.post("/admin/faults", json={"latency_ms": 0, "malformed_rate": 1.0})
            client.timeout_s, client.overall_budget_s = 1.0, 2.0
            with pytest.raises(BureauMalformedAnswer):
                client.fetch_report(code)

            admin.post("/admin/faults", json={"malformed_rate": 0.0})
            assert client.fetch_report(code).risk_class == "satisfactory"
            assert breaker.state == "closed"
