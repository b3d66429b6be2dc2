"""The whole API app on a migrated SQLite database, a fake bureau and a transparent model.

Hostile-input and security tests share it: the reviewer UI mounted at ``/review`` is
pointed at the same database, so a signed-in reviewer sees what the API stored.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))

from service_fakes import FakeBureau, LinearModel, StepClock  # noqa: E402

from scoring.config import load_settings  # noqa: E402
from scoring.service.api_keys import create_api_key  # noqa: E402
from scoring.service.model_provider import StaticModelProvider  # noqa: E402
from scoring.service.policy_files import current_policy  # noqa: E402
from scoring.service.runtime import Runtime  # noqa: E402
from scoring.storage.db import UnitOfWork, session_factory  # noqa: E402
from scoring.storage.tables import Base  # noqa: E402

ALL_SCOPES = (
    "decisions:write",
    "decisions:read",
    "reviews:write",
    "reviews:read",
    "subjects:write",
)
VALID_CODE = "38001085718"


def build_runtime(engine: Engine, home: Path, *, clock=None) -> Runtime:  # type: ignore[no-untyped-def]
    """A runtime with fakes for the bureau and the model, on ``engine``."""
    return Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(home)}),
        engine=engine,
        sessions=session_factory(engine),
        bureau=FakeBureau("good"),
        models=StaticModelProvider(LinearModel(version="1", intercept=-4.5)),
        policy=current_policy(),
        pseudonym_key=bytes(range(32)),
        clock=clock or StepClock(),
    )


def build_app(runtime: Runtime) -> FastAPI:
    """The API app with its mounted reviewer UI reading ``runtime``'s database."""
    from scoring.bootstrap import create_server_app

    return create_server_app(runtime)


def issue_key(runtime: Runtime, *, client: str = "sales", scopes=ALL_SCOPES) -> str:  # type: ignore[no-untyped-def]
    return create_api_key(uow=UnitOfWork(runtime.sessions), client=client, scopes=scopes).key


@dataclass(frozen=True)
class RowCounts:
    """How many rows each table holds; two snapshots tell what a request stored."""

    counts: dict[str, int]

    @classmethod
    def of(cls, engine: Engine) -> RowCounts:
        with engine.connect() as connection:
            return cls(
                {
                    name: connection.scalar(select(func.count()).select_from(table)) or 0
                    for name, table in Base.metadata.tables.items()
                }
            )

    def changed_since(self, before: RowCounts, *, ignore: frozenset[str] = frozenset()) -> dict:
        return {
            name: (before.counts.get(name, 0), count)
            for name, count in self.counts.items()
            if name not in ignore and before.counts.get(name, 0) != count
        }
