"""The reviewers' web sessions: signed-in sessions of the review UI, revocable on the server."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ForeignKey, String, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.storage.tables import Base, User

# A session ends after this long without a request, and this long after sign-in at the latest.
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)


class WebSession(Base):
    """One signed-in browser session of a reviewer; only a hash of its cookie token is kept."""

    __tablename__ = "web_sessions"

    # SHA-256 of the cookie token: a copy of this table does not let anyone sign in.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @classmethod
    def ended_by(cls, now: datetime) -> ColumnElement[bool]:
        """Sessions over by ``now``: signed out or revoked, idle too long, or past their end."""
        return or_(
            cls.revoked_at.is_not(None),
            cls.expires_at <= now,
            cls.last_seen_at <= now - IDLE_TIMEOUT,
        )
