"""Group commit: one writer thread per database stores the decisions waiting for it together.

Deciding (reads, bureau, model, explanation) runs in the API's decision threads; storing
runs here. Whatever decisions are waiting when the writer is free go into one transaction
(:func:`scoring.service.decisions.store_decisions`): one write turn, one chain-head lock and
one commit for all of them, and on PostgreSQL three round trips for the group. A caller's
future is resolved only after its decision is committed (or with the error that kept it
from being stored), so nothing is answered that is not stored.

Decisions that touch the same customer, application or idempotency key are never in one
group: a later one waits for the next group and then sees the earlier one stored.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from typing import Any

from scoring.service.decisions import DecisionView, PreparedDecision, store_decisions

log = logging.getLogger(__name__)

# Enough to take every decision a process has in flight; more would only lengthen a turn.
MAX_GROUP = 32

# A writer's thread holds its engine, so writers are stopped by ``stop_writer`` (the
# runtime's close), not collected.
_WRITERS: dict[Any, DecisionWriter] = {}
_WRITERS_GUARD = threading.Lock()


class WriterClosed(RuntimeError):
    """The writer was stopped (the service is shutting down)."""


class DecisionWriter:
    """Stores submitted decisions in groups, on a thread of its own, on ``engine``."""

    def __init__(self, engine: Any, *, max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._max_group = max_group
        self._waiting: deque[tuple[PreparedDecision, Future]] = deque()
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
        self._thread.start()

    def submit(self, decision: PreparedDecision) -> Future[DecisionView]:
        """Queue a decision; the future gives its stored answer (or the error)."""
        future: Future[DecisionView] = Future()
        with self._changed:
            if self._closed:
                raise WriterClosed("the decision writer is stopped")
            self._waiting.append((decision, future))
            self._changed.notify()
        return future

    def close(self, timeout_s: float = 30.0) -> None:
        """Store what is waiting, then stop the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _next_group(self) -> list[tuple[PreparedDecision, Future]] | None:
        with self._changed:
            while not self._waiting:
                if self._closed:
                    return None
                self._changed.wait()
            group, later, seen = [], deque(), set()
            while self._waiting and len(group) < self._max_group:
                item = self._waiting.popleft()
                keys = _keys(item[0])
                if keys & seen:
                    later.append(item)
                elif item[1].set_running_or_notify_cancel():
                    seen |= keys
                    group.append(item)
                # else the caller gave up before its turn (cancelled): nothing is stored
            self._waiting.extendleft(reversed(later))
            return group

    def _run(self) -> None:
        while (group := self._next_group()) is not None:
            try:
                with self._engine.connect() as connection:
                    answers = store_decisions(connection, [decision for decision, _ in group])
            except Exception as error:  # the group's transaction failed: none is stored
                for _, future in group:
                    future.set_exception(error)
                continue
            except BaseException as error:  # pragma: no cover - interpreter shutting down
                for _, future in group:
                    future.set_exception(WriterClosed(f"the decision writer stopped: {error}"))
                raise
            for (_, future), answer in zip(group, answers, strict=True):
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)


def _keys(decision: PreparedDecision) -> set[tuple[str, ...]]:
    keys = {
        ("customer", decision.pseudonym),
        ("application", decision.client_id, decision.external_id),
    }
    if decision.key is not None:
        keys.add(("key", decision.client_id, decision.key))
    if decision.report is not None:
        keys.add(("report", decision.report["report_id"]))
    return keys


def writer_for(engine: Any) -> DecisionWriter:
    """The decision writer of ``engine``, started on first use."""
    with _WRITERS_GUARD:
        writer = _WRITERS.get(engine)
        if writer is None or writer._closed:
            writer = _WRITERS[engine] = DecisionWriter(engine)
        return writer


def stop_writer(engine: Any) -> None:
    """Stop ``engine``'s writer, if it has one, after storing what is waiting."""
    with _WRITERS_GUARD:
        writer = _WRITERS.pop(engine, None)
    if writer is not None:
        writer.close()
