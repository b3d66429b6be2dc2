"""The registry provider serves the champion, picks up a promotion and survives registry errors."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from service_fakes import LinearModel

from scoring.service.errors import NoChampionModel
from scoring.service.model_provider import RegistryModelProvider


class RegistryError(LookupError):
    pass


class FakeRegistry:
    """The functions of ``models.registry`` the provider uses, over in-memory versions."""

    CHALLENGER = "challenger"
    RegistryError = RegistryError

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.loads: list[str] = []
        self.down = False

    def champion_version(self, *, settings=None):
        if self.down:
            raise ConnectionError("registry unreachable")
        return self.aliases.get("champion")

    def resolve_version(self, alias, *, settings=None):
        if alias not in self.aliases:
            raise RegistryError(alias)
        return SimpleNamespace(version=self.aliases[alias])

    def load_model(self, version, *, settings=None):
        self.loads.append(version)
        return LinearModel(version=version)


def test_without_a_champion_the_provider_says_so():
    provider = RegistryModelProvider(registry=FakeRegistry())
    with pytest.raises(NoChampionModel, match="installment promote"):
        provider.champion()


def test_a_promotion_is_picked_up_on_the_next_refresh_and_loaded_once():
    registry = FakeRegistry()
    registry.aliases = {"champion": "1", "challenger": "2"}
    provider = RegistryModelProvider(registry=registry)
    assert provider.champion().version == "1" and provider.challenger().version == "2"

    assert provider.refresh() is False
    registry.aliases = {"champion": "2"}
    assert provider.refresh() is True
    assert provider.champion().version == "2" and provider.challenger() is None
    assert registry.loads == ["1", "2"]


def test_a_registry_outage_keeps_the_models_in_use():
    registry = FakeRegistry()
    registry.aliases = {"champion": "1"}
    provider = RegistryModelProvider(registry=registry)
    registry.down = True
    assert provider.refresh() is False
    assert provider.champion().version == "1"
    assert "registry unreachable" in provider.last_error


def test_polling_runs_in_the_background_until_closed():
    registry = FakeRegistry()
    provider = RegistryModelProvider(registry=registry, poll_seconds=0.01)
    provider.start_polling()
    try:
        registry.aliases = {"champion": "3"}
        for _ in range(200):
            if provider._pair.champion is not None:
                break
            time.sleep(0.01)
        assert provider.champion().version == "3"
    finally:
        provider.close()
