"""Prometheus metrics of the decision API, in a registry of the application's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                   0.1, 0.2, 0.3, 0.5, 1.0, 2.5)  # fmt: skip


class _BureauCollector(Collector):
    """Bureau attempt results and call outcomes, read from the client's own counters."""

    def __init__(
        self,
        snapshot: Callable[[], dict[str, dict[str, int]]] | None,
        refusals: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._refusals = refusals

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = self._snapshot() if self._snapshot else {"attempts": {}, "outcomes": {}}
        calls = CounterMetricFamily(
            "installment_bureau_calls",
            "Bureau report requests by outcome (ok, unavailable, malformed, rejected, "
            "circuit_open).",
            labels=["outcome"],
        )
        for outcome, count in sorted(stats.get("outcomes", {}).items()):
            calls.add_metric([outcome], count)
        yield calls
        attempts = CounterMetricFamily(
            "installment_bureau_attempts",
            "Bureau HTTP attempts by result (ok, timeout, connection_error, server_error, ...).",
            labels=["result"],
        )
        for result, count in sorted(stats.get("attempts", {}).items()):
            attempts.add_metric([result], count)
        yield attempts
        refusals = CounterMetricFamily(
            "installment_bureau_report_refusals",
            "Bureau answers refused before anything was stored, by the report contract's "
            "rule they broke (report_id:length, default_entries.amount_eur:range, ...).",
            labels=["rule"],
        )
        for rule, count in sorted((self._refusals() if self._refusals else {}).items()):
            refusals.add_metric([rule], count)
        yield refusals


class _RegistryCollector(Collector):
    """Moves of the registry's champion alias made outside the product (served: the record)."""

    def __init__(self, models: Any) -> None:
        self._models = models

    def collect(self) -> Iterator[CounterMetricFamily]:
        moves = CounterMetricFamily(
            "installment_registry_alias_moved_outside_product",
            "Times this process found the registry's champion alias moved away from the "
            "champion approved in the product (the approved one goes on serving).",
        )
        moves.add_metric([], getattr(self._models, "alias_moves_seen", 0))
        yield moves


class ApiMetrics:
    """Counters and histograms the routes update; ``render()`` gives the exposition text."""

    def __init__(self, *, bureau: Any = None, models: Any = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "installment_decisions",
            "Decisions made, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.replays = Counter(
            "installment_decision_idempotent_replays",
            "Stored decisions answered again for a retried request.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "installment_decision_seconds",
            "Time to decide and store one new decision, in seconds.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "installment_decision_errors",
            "Decision requests refused or failed, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.challenger_scored = Counter(
            "installment_challenger_scored",
            "Decisions the challenger scored in shadow.",
            registry=self.registry,
        )
        self.challenger_disagreements = Counter(
            "installment_challenger_disagreements",
            "Shadow scores in which the challenger would have decided otherwise.",
            registry=self.registry,
        )
        self.database_failures = Counter(
            "installment_database_failures",
            "Requests that failed on the database, by cause (disk_full, read_only, "
            "lock_timeout, statement_timeout, connection_refused, connection_lost, ...).",
            ["cause"],
            registry=self.registry,
        )
        self.readiness_failures = Counter(
            "installment_readiness_failures",
            "Readiness checks that found a dependency failing, by dependency and cause.",
            ["dependency", "cause"],
            registry=self.registry,
        )
        self._by_outcome: dict[str, Any] = {}
        stats = getattr(bureau, "stats", None)
        self.registry.register(
            _BureauCollector(
                stats.snapshot if stats is not None else None,
                getattr(stats, "refusals_snapshot", None),
            )
        )
        self.registry.register(_RegistryCollector(models))

    def decision_made(self, *, outcome: str, seconds: float, challenger_disagrees: bool | None):
        counter = self._by_outcome.get(outcome)
        if counter is None:  # each outcome's child is looked up once, not per decision
            counter = self._by_outcome[outcome] = self.decisions.labels(outcome=outcome)
        counter.inc()
        self.latency.observe(seconds)
        if challenger_disagrees is not None:
            self.challenger_scored.inc()
            if challenger_disagrees:
                self.challenger_disagreements.inc()

    def database_failed(self, cause: str) -> None:
        """Count one request that failed on the database for ``cause``."""
        self.database_failures.labels(cause=cause).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
