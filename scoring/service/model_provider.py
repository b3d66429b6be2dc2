"""Which models score decisions: the champion, the challenger in shadow, any version to replay.

``RegistryModelProvider`` loads the champion and the challenger once and then polls from a
background thread; a promotion is loaded off the request path and swapped in with one
assignment, so a decision sees either the old pair or the new pair, never half of each.

With a ``ChampionRecord`` (what the composition root always passes) the champion is the
version the product's own change record approved, not whatever the registry's alias says:
an alias moved outside the product is ignored, counted and reported (``registry_state``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd

from scoring.service.errors import NoChampionModel
from scoring.service.polling import Poller

if TYPE_CHECKING:
    from scoring.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 5.0


class PDModel(Protocol):
    """A model that scores probabilities of default and explains them (champion or challenger).

    A matrix comes with the columns in ``feature_names`` order.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> object: ...

    @property
    def feature_names(self) -> Sequence[str]: ...

    def predict_pd(self, features: np.ndarray | pd.DataFrame) -> np.ndarray: ...

    def contributions(self, features: np.ndarray | pd.DataFrame) -> tuple[float, np.ndarray]: ...

    def explain(self, features: np.ndarray | pd.DataFrame) -> tuple[float, pd.DataFrame]:
        """Base value and per-feature contributions (columns named), in log-odds."""
        ...


class RegisteredVersion(Protocol):
    """A registry's answer for a version or alias: the version it is."""

    @property
    def version(self) -> str | int: ...


class ModelRegistry(Protocol):
    """The model registry (``models.registry``, or a fake in tests)."""

    CHALLENGER: str
    RegistryError: type[Exception]

    def load_model(
        self, version_or_alias: str | int, *, settings: Settings | None = ...
    ) -> PDModel:
        """A registered version as a model that scores and explains."""
        ...

    def champion_version(self, *, settings: Settings | None = ...) -> str | None:
        """The version the champion alias points to now."""
        ...

    def resolve_version(
        self, version_or_alias: str | int, *, settings: Settings | None = ...
    ) -> RegisteredVersion:
        """The registry's entry for a version number or an alias."""
        ...


@dataclass(frozen=True)
class AliasMoved:
    """The registry's champion alias disagrees with the product's record."""

    approved: str
    alias: str | None


class ChampionRecord(Protocol):
    """The product's record of the approved champion (``recorded_champion.RecordedChampion``)."""

    def approved_version(self) -> str | None:
        """The version approved (or adopted) in the product's record, or None."""
        ...

    def adopt(self, version: str) -> str | None:
        """Take over the registry's champion when nothing is recorded; the version in force."""
        ...

    def alias_moved(self, moved: AliasMoved) -> None:
        """Record (audit) that the alias was moved outside the product."""
        ...


class ModelProvider(Protocol):
    """Where the champion, the challenger and any registered version come from."""

    def champion(self) -> PDModel:
        """The model that decides; raises ``NoChampionModel`` when there is none."""

    def challenger(self) -> PDModel | None:
        """The model scored in shadow, or None."""

    def version(self, version: str) -> PDModel:
        """A registered version by number (for replay)."""


@dataclass(frozen=True)
class _Pair:
    champion: PDModel | None
    challenger: PDModel | None


class StaticModelProvider:
    """Fixed models: for tests, benchmarks and replays of in-memory models."""

    def __init__(self, champion: PDModel | None, challenger: PDModel | None = None) -> None:
        self._pair = _Pair(champion, challenger)
        self._by_version = {m.version: m for m in (champion, challenger) if m is not None}

    def champion(self) -> PDModel:
        if self._pair.champion is None:
            raise NoChampionModel(
                "no champion model is promoted; promote one with `installment promote VERSION`"
            )
        return self._pair.champion

    def challenger(self) -> PDModel | None:
        return self._pair.challenger

    def version(self, version: str) -> PDModel:
        try:
            return self._by_version[str(version)]
        except KeyError:
            raise LookupError(f"model version {version} is not available here") from None

    def promote(self, champion: PDModel, challenger: PDModel | None = None) -> None:
        """Swap in another pair (what a registry promotion does)."""
        self._pair = _Pair(champion, challenger)
        self._by_version.update({m.version: m for m in (champion, challenger) if m is not None})


class RegistryModelProvider:
    """Champion and challenger from the MLflow registry, refreshed without a restart."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        registry: ModelRegistry | None = None,
        record: ChampionRecord | None = None,
    ) -> None:
        if registry is None:
            from models import registry as registry_module

            # The module is the registry; its functions take untyped settings from MLflow's
            # side, so it is named as the protocol rather than checked against it.
            registry = cast(ModelRegistry, registry_module)
        self._registry: ModelRegistry = registry
        self._record = record
        self._moved: AliasMoved | None = None
        self._alias: str | None = None
        # Times this process saw the alias moved away from the approved version.
        self.alias_moves_seen = 0
        self._settings = settings
        self.poll_seconds = poll_seconds
        self._pair = _Pair(None, None)
        self._versions: tuple[str | None, str | None] = (None, None)
        self._cache: dict[str, Any] = {}
        self._refresh_lock = threading.Lock()
        self._poller = Poller(self.refresh, seconds=poll_seconds, name="model-registry-poll")
        self.last_error: str | None = None
        self.refresh()

    def champion(self) -> PDModel:
        champion = self._pair.champion
        if champion is None:
            reason = f" ({self.last_error})" if self.last_error else ""
            raise NoChampionModel(
                "no champion model is promoted; promote one with `installment promote VERSION`"
                + reason
            )
        return champion

    def challenger(self) -> PDModel | None:
        return self._pair.challenger

    def version(self, version: str) -> PDModel:
        version = str(version)
        if version not in self._cache:
            self._cache[version] = self._registry.load_model(version, settings=self._settings)
        return self._cache[version]

    def refresh(self) -> bool:
        """Look at the record and the registry; load and swap when they moved. True on a swap."""
        with self._refresh_lock:
            try:
                alias = self._registry.champion_version(settings=self._settings)
                wanted = (
                    self._wanted_champion(alias),
                    self._alias_version(self._registry.CHALLENGER),
                )
                if wanted == self._versions:
                    return False
                champion = self.version(wanted[0]) if wanted[0] else None
                challenger = self.version(wanted[1]) if wanted[1] else None
            except Exception as error:  # the registry is an adapter: keep serving the old pair
                self.last_error = f"model registry: {type(error).__name__}: {error}"
                logger.warning("model refresh failed; keeping current models: %s", self.last_error)
                return False
            self._pair = _Pair(champion, challenger)
            self._versions = wanted
            if wanted[0] is not None or self._record is None:
                self.last_error = None
            logger.info("models in use: champion %s, challenger %s", *wanted)
            return True

    def _wanted_champion(self, alias: str | None) -> str | None:
        """The champion to serve: the recorded one (alias moves noted), else the alias."""
        self._alias = alias
        if self._record is None:
            return alias
        approved = self._record.approved_version()
        if approved is None and alias is not None:
            approved = self._record.adopt(alias)
        if approved is None:
            self.last_error = (
                "no approved champion is recorded in the product's database; propose one with "
                "`installment promote VERSION` and have a second person approve it"
            )
            return None
        if alias == approved:
            self._moved = None
            return approved
        moved = AliasMoved(approved=approved, alias=alias)
        if moved != self._moved:
            self._moved = moved
            self.alias_moves_seen += 1
            try:
                self._record.alias_moved(moved)
            except Exception as error:  # noting it must not stop serving the approved version
                logger.warning("could not audit the moved alias: %s", error)
        return approved

    def registry_state(self) -> dict[str, Any]:
        """What readiness reports: approved champion, the registry's alias, whether they differ."""
        state: dict[str, Any] = {
            "served_from": "product record" if self._record is not None else "registry alias",
            "registry_alias": self._alias,
            "alias_moved_outside_product": self._moved is not None,
            "alias_moves_seen": self.alias_moves_seen,
        }
        if self._record is not None:
            state["approved_champion"] = self._versions[0]
        return state

    def _alias_version(self, alias: str) -> str | None:
        try:
            return str(self._registry.resolve_version(alias, settings=self._settings).version)
        except self._registry.RegistryError:
            return None

    def start_polling(self) -> None:
        """Poll the registry every ``poll_seconds`` in a daemon thread until ``close()``."""
        self._poller.start()

    def close(self) -> None:
        self._poller.stop()
