"""Identity channels, spent identity assertions and request counters of data-subject requests.

Counters and spent assertions are written in their own short transactions, each taking its
writer's turn, so a request refused later still counts and an assertion is spent once
across every process on the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.storage.request_counters import count_request
from scoring.storage.tables_privacy import SubjectChannel, UsedIdentityAssertion
from scoring.storage.write_turn import take_write_lock, write_turn

__all__ = ["SubjectChannelRegistry", "count_request", "spend_assertion"]


class SubjectChannelRegistry:
    """The registered identity channels, read and changed in the session's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def channel(self, channel_id: str) -> SubjectChannel | None:
        """The channel with this id, or None."""
        return self._session.get(SubjectChannel, channel_id)

    def add(self, channel: SubjectChannel) -> None:
        """Register a new channel."""
        self._session.add(channel)

    def all(self) -> list[SubjectChannel]:
        """Every channel, by client then id."""
        query = select(SubjectChannel).order_by(SubjectChannel.client_id, SubjectChannel.id)
        return list(self._session.scalars(query))


def spend_assertion(
    session: Session, *, channel_id: str, assertion_id: str, expires_at: datetime, now: datetime
) -> bool:
    """Record the assertion as spent and commit; False when it was spent before.

    Expired entries are pruned in the same turn: an expired assertion is refused anyway.
    """
    with write_turn(session):
        take_write_lock(session)
        session.execute(delete(UsedIdentityAssertion).where(UsedIdentityAssertion.expires_at < now))
        session.add(
            UsedIdentityAssertion(
                channel_id=channel_id, assertion_id=assertion_id, expires_at=expires_at
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True
