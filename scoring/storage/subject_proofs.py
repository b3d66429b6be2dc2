"""Identity channels, spent identity assertions and request counters of data-subject requests.

Counters and spent assertions are written in their own short transactions, each taking its
writer's turn, so a request refused later still counts and an assertion is spent once
across every process on the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.storage.tables import table_of
from scoring.storage.tables_privacy import RequestCounter, SubjectChannel, UsedIdentityAssertion
from scoring.storage.write_turn import is_postgres, take_write_lock, write_turn


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


def count_request(session: Session, *, key: str, window_started_at: datetime) -> int:
    """Count one request under ``key`` in the window starting then, commit; the window's count.

    One statement on both dialects (an upsert that restarts the count in a new window), so
    concurrent processes never lose a count.
    """
    insert = postgres_insert if is_postgres(session) else sqlite_insert
    table = _COUNTERS
    statement = insert(table).values(key=key, window_started_at=window_started_at, count=1)
    excluded = statement.excluded
    restart = table.c.window_started_at != excluded.window_started_at
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((restart, 1), else_=table.c.count + 1),
            "window_started_at": excluded.window_started_at,
        },
    ).returning(table.c.count)
    with write_turn(session):
        take_write_lock(session)
        counted = session.execute(upsert).scalar_one()
        session.commit()
    return int(counted)


_COUNTERS = table_of(RequestCounter)
