"""Wiring: the real adapters (database, bureau client, model registry, policy file, key).

Routes, commands and tests get everything a service function needs from one ``Runtime``;
tests build a ``Runtime`` with fakes instead of calling ``build_runtime``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scoring.config import Settings, get_settings, read_or_create_key
from scoring.domain.policy import Policy
from scoring.storage.db import UnitOfWork, create_engine_for, session_factory

IN_PROCESS_BUREAU_URL = "http://bureau.in-process"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The adapters and settings of one running service."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    bureau: Any
    models: Any
    policy: Policy
    pseudonym_key: bytes
    clock: Callable[[], datetime] = utc_now
    closers: list[Callable[[], None]] = field(default_factory=list)

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
        local = self.engine.dialect.name == "sqlite" and getattr(self.bureau, "in_process", False)
        return 1 if local else 3

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_runtime(
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    bureau_url: str | None = None,
    bureau_transport: Any = None,
    models: Any = None,
    policy: Policy | None = None,
    policy_file: Path | None = None,
    poll_models: bool = True,
) -> Runtime:
    """A runtime on the configured database, bureau, registry and newest policy file."""
    from scoring.bureau.client import BureauClient
    from scoring.service.model_provider import RegistryModelProvider
    from scoring.service.policy_files import current_policy, load_policy

    settings = settings or get_settings()
    engine = create_engine_for(database_url or settings.database_url)
    closers: list[Callable[[], None]] = [engine.dispose]
    bureau = BureauClient(
        bureau_url or (IN_PROCESS_BUREAU_URL if bureau_transport else settings.bureau_url),
        transport=bureau_transport,
    )
    closers.append(bureau.close)
    if models is None:
        models = RegistryModelProvider(settings=settings)
        if poll_models:
            models.start_polling()
        closers.append(models.close)
    if policy is None:
        policy = load_policy(policy_file) if policy_file else current_policy()
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        bureau=bureau,
        models=models,
        policy=policy,
        pseudonym_key=read_or_create_key(settings.pseudonym_key_file),
        closers=closers,
    )
