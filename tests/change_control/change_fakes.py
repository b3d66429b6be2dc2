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
    unjudged: tuple[str, ...] = ()


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
    # Versions whose fairness gate had not enough data to judge these attributes.
    unjudged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Versions whose fairness gate failed on a gap above its bound.
    unfair: set[str] = field(default_factory=set)
    # Aliases of registered models other than installment-pd: {(model, alias): version}.
    named_aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    gate_calls: list[dict[str, Any]] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    CHALLENGER: str = "challenger"
    RegistryError: type[Exception] = RegistryError

    def version_tags(self, version_or_alias, *, settings=None, model_name="installment-pd"):
        ref = str(version_or_alias)
        ref = self.aliases.get(ref, ref)
        if ref not in self.versions:
            raise RegistryError(f"installment-pd has no version or alias {ref!r}")
        return {"kind": "lightgbm", "model_card": f"models:/installment-pd/{ref}/card.html"}

    def check_gates(
        self, version, *, champion, gates_file=None, compare_with_champion=True, settings=None,
        model_name="installment-pd", contract_file=None,
    ):  # fmt: skip
        self.gate_calls.append(
            {"version": version, "champion": champion, "compare": compare_with_champion,
             "model": model_name, "contract": contract_file}
        )  # fmt: skip
        results = [Gate("calibration", version not in self.uncalibrated, "ECE 0.01 <= 0.03")]
        if version in self.unfair:
            results.append(Gate("fairness", False, "sex auc gap 0.1500 above 0.1"))
        elif version in self.unjudged:
            attributes = self.unjudged[version]
            results.append(
                Gate("fairness", False, f"not enough data to judge fairness on {attributes}",
                     unjudged=attributes)
            )  # fmt: skip
        else:
            results.append(Gate("fairness", True, "gaps within bounds"))
        if compare_with_champion and champion is not None:
            results.append(Gate("auc_vs_champion", self.auc_ok.get(version, True), "AUC"))
        return results

    def set_alias(self, alias, version, *, settings=None, model_name="installment-pd") -> None:
        if model_name != "installment-pd":
            self.named_aliases[(model_name, alias)] = str(version)
            return
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
