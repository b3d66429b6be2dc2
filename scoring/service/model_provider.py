"""Which models score decisions: the champion, the challenger in shadow, any version to replay.

``RegistryModelProvider`` loads both aliases from the MLflow registry once and then polls
the cheap ``champion_version()`` from a background thread; a promotion is loaded off the
request path and swapped in with one assignment, so a decision sees either the old pair or
the new pair, never half of each.
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
    ) -> None:
        if registry is None:
            from models import registry as registry_module

            # The module is the registry; its functions take untyped settings from MLflow's
            # side, so it is named as the protocol rather than checked against it.
            registry = cast(ModelRegistry, registry_module)
        self._registry: ModelRegistry = registry
        self._settings = settings
        self.poll_seconds = poll_seconds
        self._pair = _Pair(None, None)
        self._versions: tuple[str | None, str | None] = (None, None)
        self._cache: dict[str, Any] = {}
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
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
        """Look at the registry's aliases now; load and swap when they moved. True on a swap."""
        with self._refresh_lock:
            try:
                wanted = (
                    self._registry.champion_version(settings=self._settings),
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
            self.last_error = None
            logger.info("models in use: champion %s, challenger %s", *wanted)
            return True

    def _alias_version(self, alias: str) -> str | None:
        try:
            return str(self._registry.resolve_version(alias, settings=self._settings).version)
        except self._registry.RegistryError:
            return None

    def start_polling(self) -> None:
        """Poll the registry every ``poll_seconds`` in a daemon thread until ``close()``."""
        if self._thread is not None:
            return

        def poll() -> None:
            while not self._stop.wait(self.poll_seconds):
                self.refresh()

        self._thread = threading.Thread(target=poll, name="model-registry-poll", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_seconds + 1)
            self._thread = None
