"""A registered model version's own evaluation and card, as the reviewer's pages show them.

The tables are stored with the version at training (its ``known_limits`` tag); they do not
change afterwards, so each version's are read from the registry once per process (an
answer without tables is asked again: the registry may have been down).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from scoring.domain.errors import NotFoundError
from scoring.domain.model_limits import TABLES_SCHEMA

logger = logging.getLogger(__name__)

KNOWN_LIMITS_TAG = "known_limits"


class VersionTags(Protocol):
    """What is needed of the model registry (``models.registry`` or a fake)."""

    def version_tags(self, version_or_alias: str | int) -> dict[str, str]:
        """A registered version's tags; raises a ``LookupError`` for an unknown version."""
        ...

    def card_data(self, version_or_alias: str | int) -> dict[str, Any] | None:
        """The segment and fairness tables training kept for the version's card, or None."""
        ...


class ModelVersionNotFound(NotFoundError, LookupError):
    """The registry holds no such model version."""


@dataclass(frozen=True)
class StoredEvaluation:
    """A version's evaluation tables, or why there are none."""

    version: str
    tables: dict[str, Any] | None
    missing_because: str | None = None


def stored_evaluation(registry: VersionTags | None, version: str | None) -> StoredEvaluation | None:
    """The evaluation tables of ``version``; None when no model scored the decision."""
    if version is None:
        return None
    if registry is None:
        return StoredEvaluation(version, None, "no model registry is configured here")
    key = (id(registry), version)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None and cached[0] is registry:
        return cached[1]
    found = _read_evaluation(registry, version)
    if found.tables is not None:
        with _LOCK:
            # The registry is kept with its entry, so its id cannot be reused while cached.
            _CACHE[key] = (registry, found)
    return found


_CACHE: dict[tuple[int, str], tuple[VersionTags, StoredEvaluation]] = {}
_LOCK = threading.Lock()


def _read_evaluation(registry: VersionTags, version: str) -> StoredEvaluation:
    try:
        tags = registry.version_tags(version)
    except LookupError:
        return StoredEvaluation(version, None, f"the registry holds no version {version}")
    except Exception:  # the registry's store may be down: the page says so
        logger.warning("model registry could not be read for version %s", version, exc_info=True)
        return StoredEvaluation(version, None, "the model registry could not be read just now")
    text = tags.get(KNOWN_LIMITS_TAG)
    if not text:
        return StoredEvaluation(
            version, None, f"version {version} was trained before its evaluation tables were kept"
        )
    tables = json.loads(text)
    if tables.get("schema") != TABLES_SCHEMA:
        return StoredEvaluation(
            version, None, f"version {version} keeps its tables in an unknown layout"
        )
    return StoredEvaluation(version, tables)


def model_card_html(registry: VersionTags | None, version: str) -> str:
    """The model card of a registered version, as HTML (rendered from its registry tags)."""
    from models.model_card import render_html

    if registry is None or not version.isdigit():
        raise ModelVersionNotFound(f"no model version {version!r}")
    try:
        tags = registry.version_tags(version)
    except LookupError:
        raise ModelVersionNotFound(f"the registry holds no model version {version}") from None
    # The card as training wrote it: with its per-segment and fairness tables.
    return render_html(version, tags, registry.card_data(version))
