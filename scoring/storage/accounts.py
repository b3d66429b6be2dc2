"""Reviewer accounts and their web sessions: every query of signing in and out.

The account service (``review_ui.accounts``) decides who may sign in and for how long;
this repository finds and stores the ``User`` and ``WebSession`` rows it decides about.
Sessions are found by the hash of their cookie token, never by the token itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from scoring.storage.tables import User
from scoring.storage.tables_web_sessions import WebSession


class AccountRepository:
    """Reviewer accounts and web sessions of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Accounts.

    def user_id_named(self, username: str) -> int | None:
        """The id of the account with this username (active or not), or None."""
        return self.session.scalar(select(User.id).where(User.username == username))

    def user_named(self, username: str) -> User | None:
        """The account with this username (active or not), or None."""
        return self.session.scalar(select(User).where(User.username == username))

    def add_user(
        self,
        *,
        username: str,
        password_hash: str,
        role: str,
        training_completed_on: date | None,
    ) -> User:
        """Store a new active account with no failed sign-ins."""
        user = User(
            username=username,
            password_hash=password_hash,
            role=role,
            failed_logins=0,
            active=True,
            training_completed_on=training_completed_on,
        )
        self.session.add(user)
        self.session.flush()
        return user

    def count_failed_sign_in(self, user_id: int, failed_logins: int) -> None:
        """Store the account's count of failed sign-ins in a statement of its own."""
        self.session.execute(
            update(User).where(User.id == user_id).values(failed_logins=failed_logins)
        )

    def lock_out(self, user_id: int, until: datetime) -> None:
        """Lock the account until ``until`` and start its count of failed sign-ins again."""
        self.session.execute(
            update(User).where(User.id == user_id).values(failed_logins=0, locked_until=until)
        )

    # Web sessions.

    def add_session(
        self,
        *,
        token_hash: str,
        user_id: int,
        csrf_token: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Store a new web session, last seen when it was created."""
        self.session.add(
            WebSession(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=created_at,
                last_seen_at=created_at,
                expires_at=expires_at,
            )
        )
        self.session.flush()

    def web_session(self, token_hash: str) -> WebSession | None:
        """The web session whose cookie token has this hash, or None."""
        return self.session.get(WebSession, token_hash)

    def delete_sessions_of(self, user_id: int) -> None:
        """Delete every web session of the account, ended or not."""
        self.session.execute(delete(WebSession).where(WebSession.user_id == user_id))
        self.session.flush()

    def delete_open_sessions_of(self, user_id: int) -> int:
        """Delete the account's web sessions not yet signed out or revoked; how many went."""
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            delete(WebSession)
            .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    def delete_ended_sessions(self, now: datetime) -> int:
        """Delete every web session that is revoked, idle too long or past its end; how many."""
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            delete(WebSession)
            .where(WebSession.ended_by(now))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0
