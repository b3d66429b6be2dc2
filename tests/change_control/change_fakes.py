"""Fakes for change control: a registry with gate results per version, people by role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from scoring.domain.permissions import Actor, Role
from scoring.storage.db import UnitOfWork

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class RegistryError(LookupError):
    pass


@dataclass(frozen=True)
class Gate:
    gate: str
    passed: bool
    detail: str


@dataclass
class FakeChangeRegistry:
    """The registry functions change control and the model provider use, in memory.

    ``auc_ok`` says per version whether the "AUC vs champion" comparison passes; every other
    gate passes unless the version is listed in ``uncalibrated``.
    """

    versions: set[str] = field(default_factory=lambda: {"1", "2", "3"})
    aliases: dict[str, str] = field(default_factory=dict)
    auc_ok: dict[str, bool] = field(default_factory=dict)
    uncalibrated: set[str] = field(default_factory=set)
    gate_calls: list[dict[str, Any]] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    CHALLENGER: str = "challenger"
    RegistryError: type[Exception] = RegistryError

    def version_tags(self, version_or_alias, *, settings=None) -> dict[str, str]:
        ref = str(version_or_alias)
        ref = self.aliases.get(ref, ref)
        if ref not in self.versions:
            raise RegistryError(f"installment-pd has no version or alias {ref!r}")
        return {"kind": "lightgbm", "model_card": f"models:/installment-pd/{ref}/card.html"}

    def check_gates(
        self, version, *, champion, gates_file=None, compare_with_champion=True, settings=None
    ):
        self.gate_calls.append(
            {"version": version, "champion": champion, "compare": compare_with_champion}
        )
        results = [Gate("calibration", version not in self.uncalibrated, "ECE 0.01 <= 0.03")]
        if compare_with_champion and champion is not None:
            results.append(Gate("auc_vs_champion", self.auc_ok.get(version, True), "AUC"))
        return results

    def set_alias(self, alias, version, *, settings=None) -> None:
        self.aliases[alias] = str(version)

    # What the model provider asks.
    def champion_version(self, *, settings=None):
        return self.aliases.get("champion")

    def resolve_version(self, alias, *, settings=None):
        if alias not in self.aliases:
            raise RegistryError(alias)
        return SimpleNamespace(version=self.aliases[alias])

    def load_model(self, version, *, settings=None):
        from service_fakes import LinearModel

        self.loads.append(str(version))
        return LinearModel(version=str(version))


def add_person(uow_factory, username: str, role: Role) -> Actor:
    """A stored account (no usable password) as the acting person."""
    uow: UnitOfWork
    with uow_factory() as uow:
        user = uow.accounts.add_user(
            username=username, password_hash="!", role=role.value, training_completed_on=None
        )
        return Actor(user.id, user.username, role)
