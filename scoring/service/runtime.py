"""What a running service works with: its settings and adapters, as one ``Runtime``.

The composition root (:mod:`scoring.bootstrap`) builds the real one; tests build one with
fakes. Routes, reviewer pages and commands take what a use case needs from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scoring.config import Settings
from scoring.domain.policy import Policy
from scoring.service.model_provider import ModelProvider
from scoring.storage.db import UnitOfWork, is_sqlite

if TYPE_CHECKING:
    from scoring.bureau.client import BureauClient
    from scoring.service.policy_in_force import PolicyInForce


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The adapters and settings of one running service."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    bureau: BureauClient
    models: ModelProvider
    policy: Policy
    pseudonym_key: bytes
    clock: Callable[[], datetime] = utc_now
    closers: list[Callable[[], None]] = field(default_factory=list)
    # The approved policy schedule and the stop switch, polled; None: ``policy`` as given.
    policy_in_force: PolicyInForce | None = None

    def policy_now(self) -> Policy:
        """The policy a decision made now is made under (the stop switch applied)."""
        if self.policy_in_force is None:
            return self.policy
        return self.policy_in_force.at(self.clock())

    def unit_of_work(self) -> UnitOfWork:
        """A fresh unit of work (one per request; not shared between threads)."""
        return UnitOfWork(self.sessions)

    def decision_threads(self) -> int:
        """Decisions one API process works at once: the setting, or else by what they wait on.

        A decision on SQLite with the bureau in this process waits on nothing: one thread,
        since threads that take turns at the interpreter lock switch at every database
        statement and model call: a quarter more CPU per decision at four requests
        in flight (`BENCHMARKS.md`). PostgreSQL round trips or a bureau over HTTP leave a
        thread waiting; three threads overlap those waits.
        """
        if self.settings.decision_threads is not None:
            return self.settings.decision_threads
        local = is_sqlite(self.engine) and getattr(self.bureau, "in_process", False)
        return 1 if local else 3

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()
