"""Requests counted in fixed windows, shared by every process on the database.

The data-subject requests' throttles and the reviewer sign-in throttle count here. Each
count is one upsert in its own short transaction, taking its writer's turn, so concurrent
processes never lose a count and N processes do not give N times the tries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scoring.storage.tables import table_of
from scoring.storage.tables_privacy import RequestCounter
from scoring.storage.write_turn import is_postgres, take_write_lock, write_turn

_COUNTERS = table_of(RequestCounter)


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


def counted(session: Session, *, key: str, window_started_at: datetime) -> int:
    """How many requests ``key`` has in the window starting then (0 in an older window)."""
    table = _COUNTERS
    found = session.execute(
        select(table.c.count).where(
            table.c.key == key, table.c.window_started_at == window_started_at
        )
    ).scalar_one_or_none()
    return int(found or 0)


def forget_before(session: Session, *, prefix: str, window_started_at: datetime) -> None:
    """Remove the counters under ``prefix`` whose window started before then, and commit."""
    table = _COUNTERS
    with write_turn(session):
        take_write_lock(session)
        session.execute(
            delete(table).where(
                table.c.key.startswith(prefix, autoescape=True),
                table.c.window_started_at < window_started_at,
            )
        )
        session.commit()
