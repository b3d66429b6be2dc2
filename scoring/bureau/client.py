"""HTTP client for the credit bureau: deadline-bound, retrying, circuit-broken, minimising.

The decision path calls :meth:`BureauClient.fetch_report` and gets either a
:class:`~scoring.domain.bureau.BureauReport` holding only the contract's fields or one of
the errors below, always within ``overall_budget_s``::

    BureauError                   any failure to obtain a usable report
    ├── BureauUnavailable         no answer in time: timeout, connection error, 5xx, 429
    │   └── BureauCircuitOpen     not called at all: the circuit breaker is open
    ├── BureauMalformedAnswer     an answer arrived but breaks the report contract
    └── BureauRequestRejected     the bureau refused the request (4xx other than 429)

``overall_budget_s`` bounds the whole call, inside reads too: each attempt's time is what
is left of the budget, and the wire cuts off an answer that trickles in past it. An
answer is checked against the bureau report contract (types, the lengths and ranges of
``data_contracts/contracts/bureau_report.odcs.yaml``, the subject being the person asked
about) before a report is built; a refused answer is logged with the rule it broke.
Every error counts against the circuit breaker, refusals (401, 403) too: a bureau that
refuses every query is as useless as one that does not answer.

The person is identified by the personal code in the JSON body, never in the URL, and the
code never appears in log records or error messages.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

import httpx

from scoring.bureau.breaker import CircuitBreaker
from scoring.bureau.report_contract import FieldLimits, report_limits
from scoring.bureau.wire import HttpxWire, PooledWire
from scoring.domain import personal_code as _personal_code
from scoring.domain.bureau import RISK_CLASSES, BureauReport, DefaultEntry
from scoring.domain.errors import EngineError, InvalidInputError, UnavailableError

__all__ = [
    "REPORTS_PATH",
    "BureauCircuitOpen",
    "BureauClient",
    "BureauError",
    "BureauMalformedAnswer",
    "BureauObserver",
    "BureauRequestRejected",
    "BureauStats",
    "BureauUnavailable",
    "parse_report",
]

logger = logging.getLogger(__name__)

REPORTS_PATH = "/v1/reports"

# A retry is pointless when less than this is left of the overall budget.
_MIN_ATTEMPT_S = 0.01


class BureauError(EngineError):
    """No usable bureau report was obtained. ``kind`` names the failure for metrics."""

    kind = "error"


class BureauUnavailable(BureauError, UnavailableError):
    """The bureau gave no answer in time (timeout, connection error, 5xx, 429, circuit open).

    ``reason`` is one of ``timeout``, ``connection_error``, ``server_error``,
    ``throttled``, ``budget_exhausted`` or ``circuit_open``.
    """

    kind = "unavailable"

    def __init__(self, message: str, *, reason: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code


class BureauCircuitOpen(BureauUnavailable):
    """The circuit breaker is open after repeated failures; the bureau was not called."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="circuit_open")


class BureauMalformedAnswer(BureauError, UnavailableError):
    """The bureau answered, but not with a report that keeps its contract.

    The message names the bad field; ``rule`` names the rule it broke (``report_id:length``,
    ``score:range``, ``subject:another_person``, ``body:json``...), for logs and metrics.
    Neither ever holds a value from the answer.
    """

    kind = "malformed"

    def __init__(self, message: str, *, rule: str = "format") -> None:
        super().__init__(message)
        self.rule = rule


class BureauRequestRejected(BureauError, InvalidInputError):
    """The bureau refused the request with a 4xx status; retrying would not help."""

    kind = "rejected"

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class BureauObserver(Protocol):
    """Receives one event per HTTP attempt and per ``fetch_report`` call (for metrics)."""

    def attempt_finished(self, result: str, seconds: float) -> None: ...

    def call_finished(self, outcome: str, seconds: float) -> None: ...


class BureauStats:
    """Thread-safe counters of attempt results and call outcomes; the default observer.

    Attempt results: ``ok``, ``timeout``, ``connection_error``, ``server_error``,
    ``throttled``, ``malformed``, ``rejected``. Call outcomes: ``ok``, ``unavailable``,
    ``malformed``, ``rejected``, ``circuit_open``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.call_seconds_total = 0.0

    def report_refused(self, rule: str) -> None:
        """An answer broke the report contract's ``rule`` (counted apart from the outcome)."""
        with self._lock:
            self.refusals[rule] += 1

    def attempt_finished(self, result: str, seconds: float) -> None:
        with self._lock:
            self.attempts[result] += 1

    def call_finished(self, outcome: str, seconds: float) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
            self.call_seconds_total += seconds

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A consistent copy of both counters."""
        with self._lock:
            return {"attempts": dict(self.attempts), "outcomes": dict(self.outcomes)}

    def refusals_snapshot(self) -> dict[str, int]:
        """A copy of the refused answers by the contract rule they broke."""
        with self._lock:
            return dict(self.refusals)


class BureauClient:
    """Synchronous bureau client with a persistent keep-alive connection pool (urllib3's).

    Each ``fetch_report`` makes at most ``max_attempts`` HTTP attempts, each limited by
    ``timeout_s`` (each connect, write, read and pool wait) and by what is left of
    ``overall_budget_s``; only unavailability
    (timeout, connection error, 5xx, 429) is retried, after a jittered backoff that must
    fit in the budget. ``transport`` replaces the network (``httpx.MockTransport`` in
    tests, the in-process simulator in benchmarks); ``clock``, ``sleep`` and ``rng``
    make timing testable. Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 0.2,
        overall_budget_s: float = 0.3,
        max_attempts: int = 2,
        backoff_s: float = 0.02,
        breaker: CircuitBreaker | None = None,
        observer: BureauObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_connections: int = 32,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("bureau base_url must start with http:// or https://")
        if timeout_s <= 0 or overall_budget_s <= 0:
            raise ValueError("timeout_s and overall_budget_s must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if backoff_s < 0:
            raise ValueError("backoff_s must not be negative")
        self.timeout_s = timeout_s
        self.overall_budget_s = overall_budget_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self.stats = BureauStats()
        self._observer: BureauObserver = observer if observer is not None else self.stats
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._rng_lock = threading.Lock()
        # A transport that answers queries itself (the in-process simulator) is the wire;
        # any other (httpx.MockTransport in tests) goes through httpx; with none, queries
        # go over the network through urllib3's pool. See ``scoring.bureau.wire``.
        self._in_process = getattr(transport, "exchange", None) is not None
        self._wire: Any
        if self._in_process:
            self._wire = transport
        elif transport is None:
            self._wire = PooledWire(base_url, REPORTS_PATH, max_connections=max_connections)
        else:
            self._wire = HttpxWire(
                base_url, REPORTS_PATH, transport, max_connections=max_connections
            )

    @property
    def in_process(self) -> bool:
        """Whether reports come from a transport in this process (no network wait)."""
        return self._in_process

    def __enter__(self) -> BureauClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._wire.close()

    def fetch_report(
        self,
        personal_code: str,
        *,
        purpose: str = "instalment_application",
        budget_s: float | None = None,
    ) -> BureauReport:
        """Ask the bureau for the person's report; raise a ``BureauError`` if none is usable.

        The call takes at most ``overall_budget_s``, or ``budget_s`` when the caller has
        less time left (a decision's budget). An invalid personal code raises
        ``InvalidPersonalCode`` before anything is sent.
        """
        _personal_code.parse(personal_code)
        if not isinstance(purpose, str) or not purpose.strip():
            raise ValueError("purpose of the bureau query must be a non-empty text")
        budget = self.overall_budget_s if budget_s is None else min(budget_s, self.overall_budget_s)
        if budget < _MIN_ATTEMPT_S:
            # Not the bureau's fault: the caller has no time left, so it is not asked at all.
            self._observer.call_finished("unavailable", 0.0)
            raise BureauUnavailable(
                "no time was left of the decision's budget to ask the bureau",
                reason="budget_exhausted",
            )
        started = self._clock()
        if not self.breaker.allow():
            self._observer.call_finished("circuit_open", 0.0)
            raise BureauCircuitOpen(
                "bureau circuit is open after repeated failures; the bureau was not called"
            )
        body = json.dumps({"personal_code": personal_code, "purpose": purpose}).encode()
        try:
            report = self._attempts(body, deadline=started + budget, subject=personal_code)
        except BureauError as exc:
            # Every failure counts, a refusal too: a bureau that answers 401 to every query
            # (an expired credential) must not be asked on every decision.
            self.breaker.record_failure()
            self._observer.call_finished(exc.kind, self._clock() - started)
            if isinstance(exc, BureauMalformedAnswer):
                self.stats.report_refused(exc.rule)
                logger.warning("bureau report refused (rule %s): %s", exc.rule, exc)
            else:
                logger.warning("bureau query failed: %s", exc)
            raise
        except BaseException:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        self._observer.call_finished("ok", self._clock() - started)
        return report

    def report_refused(self, rule: str, message: str) -> None:
        """A report this client returned was refused later (another person's report id).

        Counted against the breaker and in the metrics like an answer refused here.
        """
        self.breaker.record_failure()
        self.stats.report_refused(rule)
        logger.warning("bureau report refused (rule %s): %s", rule, message)

    def _attempts(self, body: bytes, *, deadline: float, subject: str) -> BureauReport:
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise BureauUnavailable(
                    "bureau gave no answer within the call's budget",
                    reason="budget_exhausted",
                )
            try:
                return self._attempt(
                    body, timeout_s=min(self.timeout_s, remaining), subject=subject
                )
            except BureauUnavailable as exc:
                if attempt >= self.max_attempts:
                    raise
                delay = self._backoff(attempt)
                if self._clock() + delay + _MIN_ATTEMPT_S >= deadline:
                    raise
                logger.info("bureau attempt %d failed (%s); retrying", attempt, exc.reason)
                self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # Full jitter spreads the retries of many concurrent decisions apart.
        with self._rng_lock:
            return self._rng.uniform(0.0, self.backoff_s * 2 ** (attempt - 1))

    def _attempt(self, body: bytes, *, timeout_s: float, subject: str) -> BureauReport:
        began = self._clock()
        try:
            report = self._exchange(body, timeout_s=timeout_s, subject=subject)
        except BureauError as exc:
            result = exc.reason if isinstance(exc, BureauUnavailable) else exc.kind
            self._observer.attempt_finished(result, self._clock() - began)
            raise
        self._observer.attempt_finished("ok", self._clock() - began)
        return report

    def _exchange(self, body: bytes, *, timeout_s: float, subject: str) -> BureauReport:
        # Errors are raised outside the ``except`` blocks so that no transport or decoding
        # exception (whose request body or text may hold the personal code) is chained.
        failure = None
        try:
            status, content = self._wire.exchange(body, timeout_s=timeout_s)
        except TimeoutError:
            failure = BureauUnavailable(
                f"bureau did not answer within {timeout_s:.3f} s", reason="timeout"
            )
        except ConnectionError as exc:
            failure = BureauUnavailable(str(exc), reason="connection_error")
        if failure is not None:
            raise failure
        if status >= 500 or status == 429:
            raise BureauUnavailable(
                f"bureau answered HTTP {status}",
                reason="server_error" if status >= 500 else "throttled",
                status_code=status,
            )
        if 400 <= status < 500:
            raise BureauRequestRejected(
                f"bureau rejected the request with HTTP {status}", status_code=status
            )
        if status != 200:
            raise BureauMalformedAnswer(f"bureau answered unexpected HTTP {status}", rule="status")
        try:
            payload = json.loads(content)
        except ValueError:
            payload = _MISSING
        if payload is _MISSING:
            raise BureauMalformedAnswer("bureau answer is not valid JSON", rule="body:json")
        return parse_report(payload, subject=subject)


def parse_report(payload: Any, *, subject: str | None = None) -> BureauReport:
    """Build a report from a decoded bureau answer, keeping only the contract's fields.

    Types are checked strictly (no numbers as strings, no booleans as numbers), then the
    contract's lengths and ranges (:func:`~scoring.bureau.report_contract.report_limits`);
    when ``subject`` is given, an answer that names another person as its subject is
    refused. Any other field is dropped. Errors name the field and the rule, never a value.
    """
    if not isinstance(payload, Mapping):
        raise BureauMalformedAnswer("bureau answer must be a JSON object", rule="body:object")
    limits = report_limits()
    if subject is not None:
        named = payload.get("subject_personal_code", _MISSING)
        if named is not _MISSING and named != subject:
            raise BureauMalformedAnswer(
                "bureau answer is about another person than the one asked about",
                rule="subject:another_person",
            )
    raw_entries = _field(payload, "default_entries", list, "a list")
    if len(raw_entries) > limits.max_entries:
        raise BureauMalformedAnswer(
            f"bureau answer field 'default_entries' lists more than {limits.max_entries} entries",
            rule="default_entries:length",
        )
    entries = tuple(_parse_entry(raw, index, limits.entry) for index, raw in enumerate(raw_entries))
    risk_class = _text(payload, "risk_class", limits.report)
    if risk_class not in RISK_CLASSES:
        raise BureauMalformedAnswer(
            f"bureau answer field 'risk_class' is not one of: {', '.join(RISK_CLASSES)}",
            rule="risk_class:enum",
        )
    try:
        report = BureauReport(
            report_id=_text(payload, "report_id", limits.report),
            requested_at=_timestamp(payload, "requested_at"),
            score=_integer(payload, "score", limits.report),
            risk_class=risk_class,
            pd_band_low=_number(payload, "pd_band_low", limits.report),
            pd_band_high=_number(payload, "pd_band_high", limits.report),
            open_default_count=_integer(payload, "open_default_count", limits.report),
            closed_default_count=_integer(payload, "closed_default_count", limits.report),
            default_entries=entries,
        )
    except ValueError as exc:
        problem = str(exc)
    else:
        return report
    raise BureauMalformedAnswer(f"bureau answer is invalid: {problem}", rule="report:consistency")


def _parse_entry(raw: Any, index: int, limits: Mapping[str, FieldLimits]) -> DefaultEntry:
    where = f"default_entries[{index}]"
    if not isinstance(raw, Mapping):
        raise BureauMalformedAnswer(
            f"bureau answer field {where!r} must be a JSON object",
            rule="default_entries:type",
        )
    ended = raw.get("ended_on", _MISSING)
    if ended is _MISSING:
        raise BureauMalformedAnswer(
            f"bureau answer field '{where}.ended_on' is missing",
            rule="default_entries.ended_on:missing",
        )
    try:
        entry = DefaultEntry(
            creditor_sector=_text(raw, "creditor_sector", limits, where),
            amount_eur=_number(raw, "amount_eur", limits, where),
            started_on=_date(raw, "started_on", where),
            ended_on=None if ended is None else _date(raw, "ended_on", where),
        )
    except ValueError as exc:
        problem = str(exc)
    else:
        return entry
    raise BureauMalformedAnswer(
        f"bureau answer is invalid in {where}: {problem}", rule="default_entries:consistency"
    )


_MISSING = object()
_NO_LIMITS = FieldLimits()


def _rule(name: str, where: str, broken: str) -> str:
    # A rule names the field without its position in a list: default_entries.amount_eur:range.
    return f"{where.partition('[')[0]}.{name}:{broken}" if where else f"{name}:{broken}"


def _field(data: Mapping[str, Any], name: str, kind: Any, described: str, where: str = "") -> Any:
    label = f"{where}.{name}" if where else name
    value = data.get(name, _MISSING)
    if value is _MISSING:
        raise BureauMalformedAnswer(
            f"bureau answer field {label!r} is missing", rule=_rule(name, where, "missing")
        )
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BureauMalformedAnswer(
            f"bureau answer field {label!r} must be {described}, got {_json_type(value)}",
            rule=_rule(name, where, "type"),
        )
    return value


def _text(data: Mapping[str, Any], name: str, limits: Mapping[str, FieldLimits],
          where: str = "") -> str:  # fmt: skip
    value: str = _field(data, name, str, "a text", where)
    longest = limits.get(name, _NO_LIMITS).max_length
    if longest is not None and len(value) > longest:
        label = f"{where}.{name}" if where else name
        raise BureauMalformedAnswer(
            f"bureau answer field {label!r} is longer than {longest} characters",
            rule=_rule(name, where, "length"),
        )
    return value


def _in_range(value: float, name: str, limits: Mapping[str, FieldLimits], where: str) -> None:
    field_limits = limits.get(name, _NO_LIMITS)
    low, high = field_limits.minimum, field_limits.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        label = f"{where}.{name}" if where else name
        bounds = (
            f"{'-inf' if low is None else f'{low:g}'} and {'inf' if high is None else f'{high:g}'}"
        )
        raise BureauMalformedAnswer(
            f"bureau answer field {label!r} must lie between {bounds}",
            rule=_rule(name, where, "range"),
        )


def _integer(data: Mapping[str, Any], name: str, limits: Mapping[str, FieldLimits]) -> int:
    value: int = _field(data, name, int, "an integer")
    _in_range(value, name, limits, "")
    return value


def _number(data: Mapping[str, Any], name: str, limits: Mapping[str, FieldLimits],
            where: str = "") -> float:  # fmt: skip
    value = _field(data, name, (int, float), "a number", where)
    if not math.isfinite(value):
        label = f"{where}.{name}" if where else name
        raise BureauMalformedAnswer(
            f"bureau answer field {label!r} must be a finite number",
            rule=_rule(name, where, "range"),
        )
    _in_range(value, name, limits, where)
    return float(value)


def _date(data: Mapping[str, Any], name: str, where: str) -> date:
    text = _field(data, name, str, "an ISO date text", where)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    raise BureauMalformedAnswer(
        f"bureau answer field '{where}.{name}' is not an ISO date (YYYY-MM-DD)",
        rule=_rule(name, where, "format"),
    )


def _timestamp(data: Mapping[str, Any], name: str) -> datetime:
    text = _field(data, name, str, "an ISO timestamp text")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None:
        raise BureauMalformedAnswer(
            f"bureau answer field {name!r} is not an ISO timestamp", rule=f"{name}:format"
        )
    if moment.tzinfo is None:
        raise BureauMalformedAnswer(
            f"bureau answer field {name!r} has no timezone", rule=f"{name}:timezone"
        )
    return moment.astimezone(UTC)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    return "object"
