"""Whether the service can decide now: the database takes writes and a champion is loaded.

Each check names its dependency and, when it fails, the cause in one word (``read_only``,
``disk_full``, ``lock_timeout``, ``connection_refused``, ``no_answer``...; see
``scoring.storage.failures``) and a sentence an operator can act on. The database check is
a write probe (``scoring.storage.write_probe``) run in a thread of its own and waited for
at most ``timeout_s``: a server that stops answering makes readiness say so in bounded
time, and while that probe is still stuck the next check says so at once instead of
stacking another thread behind it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from scoring.service.errors import NoChampionModel
from scoring.storage.failures import CAUSES, failure_cause
from scoring.storage.write_probe import probe_writes

if TYPE_CHECKING:
    from scoring.service.runtime import Runtime

logger = logging.getLogger(__name__)

# How long readiness waits for the database to take its probe write.
READINESS_TIMEOUT_S = 2.0
_PROBE_SHARE = 0.75


@dataclass(frozen=True)
class Problem:
    """A failing dependency: which one, the cause in one word, and what it means."""

    dependency: str
    cause: str
    message: str

    def __str__(self) -> str:
        return f"{self.dependency}: {self.message} ({self.cause})"


@dataclass(frozen=True)
class Readiness:
    problems: list[Problem]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.problems


class _Prober:
    """One probe thread per engine; a probe that has not returned blocks no other thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-probe")
        self._running: Future[None] | None = None
        self._lock = threading.Lock()

    def probe(self, engine: Engine, timeout_s: float) -> Problem | None:
        with self._lock:
            if self._running is not None and not self._running.done():
                return _no_answer(timeout_s, still=True)
            # The probe's own waits (the writers' turn, the statement) end before this one
            # does, so a held lock is reported as such rather than as no answer.
            running = self._running = self._pool.submit(
                probe_writes, engine, timeout_s=timeout_s * _PROBE_SHARE
            )
        try:
            running.result(timeout=timeout_s)
        except FutureTimeout:
            return _no_answer(timeout_s, still=False)
        except Exception as error:  # the database's failure, by its cause
            cause = failure_cause(error)
            return Problem("database", cause, f"cannot write: {CAUSES[cause]}")
        return None


_PROBERS: dict[int, _Prober] = {}
_PROBERS_GUARD = threading.Lock()


def _prober(engine: Engine) -> _Prober:
    with _PROBERS_GUARD:
        return _PROBERS.setdefault(id(engine), _Prober())


def _no_answer(timeout_s: float, *, still: bool) -> Problem:
    waited = "; an earlier write probe is still waiting" if still else ""
    return Problem(
        "database", "no_answer", f"the database did not answer within {timeout_s:g} s{waited}"
    )


def readiness(*, runtime: Runtime | None, timeout_s: float = READINESS_TIMEOUT_S) -> Readiness:
    """Check that the database takes writes and a champion is loaded, within ``timeout_s``."""
    if runtime is None:
        return Readiness([Problem("service", "starting", "the service is still starting")])
    problems: list[Problem] = []
    details: dict[str, Any] = {"policy_version": runtime.policy_now().version}
    database = _prober(runtime.engine).probe(runtime.engine, timeout_s)
    if database is None:
        details["database"] = "ok"
    else:
        problems.append(database)
    try:
        champion = runtime.models.champion()
        details["champion"] = {"name": champion.name, "version": str(champion.version)}
    except NoChampionModel as error:
        problems.append(Problem("model", "no_champion", error.message))
    for problem in problems:
        logger.warning("not ready: %s", problem)
    registry = registry_check(runtime)
    if registry is not None:
        details["model_registry"] = registry
    control = control_check(runtime)
    if control is not None:
        details["control"] = control
    return Readiness(problems, details)


def control_check(runtime: Runtime) -> dict[str, Any] | None:
    """The policy in force, the next approved one, and whether automated decisions are on."""
    if runtime.policy_in_force is None:
        return None
    return runtime.policy_in_force.state(runtime.clock())


def registry_check(runtime: Runtime) -> dict[str, Any] | None:
    """Which champion is served from where, and whether the registry's alias was moved.

    Not a problem for readiness: the approved champion goes on serving whatever the alias
    says; the detail (and the metric and the audit entry) tell the operator it was moved.
    """
    state = getattr(runtime.models, "registry_state", None)
    return state() if callable(state) else None
