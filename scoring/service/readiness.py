"""Whether the service can decide now: the database answers and a champion is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scoring.service.errors import NoChampionModel
from scoring.storage.db import StorageError, ping

if TYPE_CHECKING:
    from scoring.service.runtime import Runtime


@dataclass(frozen=True)
class Readiness:
    problems: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.problems


def readiness(*, runtime: Runtime | None) -> Readiness:
    """Check the database and the champion model; each problem is one readable line."""
    if runtime is None:
        return Readiness(["the service is still starting"])
    problems: list[str] = []
    details: dict[str, Any] = {"policy_version": runtime.policy.version}
    try:
        ping(runtime.engine)
        details["database"] = "ok"
    except StorageError as error:
        problems.append(str(error))
    except Exception as error:  # a driver error on a live connection: still not ready
        problems.append(f"database check failed: {type(error).__name__}")
    try:
        champion = runtime.models.champion()
        details["champion"] = {"name": champion.name, "version": str(champion.version)}
    except NoChampionModel as error:
        problems.append(error.message)
    return Readiness(problems, details)
