"""Tables of the reviewer web UI: signed-in sessions, revocable on the server."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scoring.storage.tables import Base, User


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
