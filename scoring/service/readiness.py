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
    details: dict[str, Any] = {"policy_version": runtime.policy_now().version}
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
