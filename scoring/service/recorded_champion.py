"""What the model provider asks of the product's record: the champion it approved, the
registry's champion adopted at a first start, and alias moves made outside the product.

The records themselves are made by the change-control use cases
(:mod:`scoring.service.change_control`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from scoring.domain.change_control import ChangeKind, ChangeStatus
from scoring.service.change_control import (
    REGISTRY_ENTITY,
    SYSTEM_ACTOR,
    audit_change,
    served_champion,
)
from scoring.service.model_provider import AliasMoved
from scoring.storage.db import UnitOfWork

logger = logging.getLogger(__name__)


class RecordedChampion:
    """The product's record of the champion, as the model provider polls it."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        adopt_unrecorded: bool = True,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._clock = clock
        self.adopt_unrecorded = adopt_unrecorded

    def approved_version(self) -> str | None:
        """The version the product approved (or adopted), or None when nothing is recorded."""
        with self._unit_of_work() as uow:
            change = served_champion(uow=uow)
        return change.model_version if change else None

    def adopt(self, version: str) -> str | None:
        """On a database with no record, take over the registry's champion (audited).

        Returns the version then in force, which another process may have adopted first;
        None when adoption is switched off (``INSTALLMENT_ADOPT_REGISTRY_CHAMPION=false``).
        """
        if not self.adopt_unrecorded:
            return None
        now = self._clock()
        with self._unit_of_work() as uow:
            uow.change_requests.take_turn()
            current = served_champion(uow=uow)
            if current is not None:
                return current.model_version
            change = uow.change_requests.add(
                kind=ChangeKind.CHAMPION,
                status=ChangeStatus.ADOPTED,
                model_version=version,
                proposed_at=now,
                decided_at=now,
                reason="adopted from the registry's champion alias: the database held no "
                "approved champion at first start",
            )
            audit_change(
                uow, now=now, actor=SYSTEM_ACTOR, action="champion_adopted_from_registry",
                change=change,
            )  # fmt: skip
        logger.warning("no approved champion recorded; adopted registry version %s", version)
        return version

    def alias_moved(self, moved: AliasMoved) -> None:
        """Audit that the registry's alias was moved outside the product (once per move)."""
        with self._unit_of_work() as uow:
            uow.audit_log.append(
                at=self._clock(),
                actor=SYSTEM_ACTOR,
                action="registry_alias_moved_outside_product",
                entity_type=REGISTRY_ENTITY,
                entity_id="champion",
                details={**asdict(moved), "served": moved.approved},
            )
        logger.warning(
            "registry alias champion points to %s, not the approved version %s; "
            "serving the approved version",
            moved.alias,
            moved.approved,
        )
