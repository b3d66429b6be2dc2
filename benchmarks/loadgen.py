"""An HTTP/1.1 load generator for a server on this machine, closed-loop or paced.

Closed loop: each of ``concurrency`` keep-alive connections sends a request, reads the
whole answer, and sends the next, until the time or the request budget runs out. That
finds the most the server can do; its latencies are mostly the queue the connections make.

Paced (``rate``): the i-th request is due ``i / rate`` seconds after the start, whatever
the server does, as customers at checkout arrive. It goes out on whichever of the
``concurrency`` connections is free, and its latency counts from when it was due, so a
request held up because every connection was busy is counted as late, not left out (no
"coordinated omission"). That measures latency at a given load.

Requests are prepared bytes and answers are parsed only as far as the status line and the
body length, so one core of the generator drives several thousand requests per second and
leaves the other to the server under test. Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")

RequestFactory = Callable[[int], bytes]
# Looks at one answer (status, body) and returns what is wrong with it, or None.
AnswerCheck = Callable[[int, bytes], str | None]


class LoadError(RuntimeError):
    """The load could not be generated as asked (bad target, server gone)."""


@dataclass
class LoadResult:
    """Latencies and outcomes of one measured phase."""

    name: str
    concurrency: int
    seconds: float
    # Requests per second asked for (paced load), or None for a closed loop.
    rate: float | None = None
    # Paced load: requests that fell due before the end (sent or not).
    offered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    problems: Counter = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def unsent(self) -> int:
        """Paced load: requests due before the end that no free connection could send."""
        lost = sum(n for problem, n in self.problems.items() if problem.startswith("connection"))
        return max(0, self.offered - self.requests - lost) if self.rate is not None else 0

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def summary(self) -> dict[str, float | int | str]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "offered_rps": self.rate,
            "unsent": self.unsent,
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.requests - self.ok + sum(self.problems.values()),
            "seconds": round(self.seconds, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms), 2) if self.latencies_ms else float("nan"),
        }


def http_request(method: str, path: str, *, host: str, port: int, headers=None, body=b"") -> bytes:
    """The bytes of one HTTP/1.1 request on a kept-alive connection."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length, chunked = None, False
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    return status, (await reader.readexactly(length) if length else b"")


async def _run(
    *,
    name: str,
    host: str,
    port: int,
    make_request: RequestFactory,
    concurrency: int,
    duration_s: float,
    max_requests: int | None,
    check: AnswerCheck | None,
    first_index: int,
    rate: float | None,
) -> LoadResult:
    result = LoadResult(name=name, concurrency=concurrency, seconds=0.0, rate=rate)
    numbers = itertools.count(first_index)
    last = None if max_requests is None else first_index + max_requests
    started = deadline = 0.0

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                i = next(numbers)
                if last is not None and i >= last:
                    return
                now = time.perf_counter()
                if rate is None:
                    sent = now
                else:
                    due = started + (i - first_index) / rate
                    if due >= deadline:
                        return
                    if due > now:
                        await asyncio.sleep(due - now)
                        sent = time.perf_counter()
                    else:
                        # Late: every connection was busy when it fell due; the wait counts.
                        sent = due
                if now >= deadline:
                    return  # due in time but no connection was free before the end: unsent
                writer.write(make_request(i))
                try:
                    status, body = await _read_answer(reader)
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    result.problems[f"connection lost: {type(error).__name__}"] += 1
                    return
                result.latencies_ms.append((time.perf_counter() - sent) * 1000.0)
                result.statuses[status] += 1
                if check is not None:
                    problem = check(status, body)
                    if problem:
                        result.problems[problem] += 1
        finally:
            writer.close()

    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        # Every connection is open before the clock starts, so a paced load starts on time.
        for _ in range(concurrency):
            opened.append(await asyncio.open_connection(host, port))
        started = time.perf_counter()
        deadline = started + duration_s
        await asyncio.gather(*(connection(reader, writer) for reader, writer in opened))
    except OSError as error:
        for _, writer in opened:
            writer.close()
        raise LoadError(f"cannot load {host}:{port}: {error}") from None
    result.seconds = time.perf_counter() - started
    if rate is not None:
        due_in_time = math.ceil(duration_s * rate)
        result.offered = due_in_time if max_requests is None else min(due_in_time, max_requests)
    return result


def run_load(
    *,
    name: str,
    host: str,
    port: int,
    make_request: RequestFactory,
    concurrency: int,
    duration_s: float,
    max_requests: int | None = None,
    check: AnswerCheck | None = None,
    first_index: int = 0,
    rate: float | None = None,
) -> LoadResult:
    """Drive ``concurrency`` connections for ``duration_s`` (or ``max_requests``) and measure.

    ``make_request(i)`` gives the bytes of the i-th request (numbered from ``first_index``,
    so each request can carry a unique id). With ``rate`` the requests are paced at that
    many per second (see the module's text) instead of sent back to back.
    """
    if host not in LOOPBACK:
        raise LoadError(f"load is generated only against this machine, not {host!r}")
    if concurrency < 1 or duration_s <= 0:
        raise LoadError("concurrency must be at least 1 and duration positive")
    if rate is not None and rate <= 0:
        raise LoadError("a paced load needs a positive rate (requests per second)")
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    return runner(
        _run(
            name=name, host=host, port=port, make_request=make_request,
            concurrency=concurrency, duration_s=duration_s, max_requests=max_requests,
            check=check, first_index=first_index, rate=rate,
        )
    )  # fmt: skip
