"""Reviewer accounts and signed-in sessions: argon2 passwords, lock-out, revocable sessions.

Service functions take a unit of work, whose ``accounts`` repository runs every query on
the account and web-session tables, and the current time, so tests control the clock.
A refused sign-in always says the same thing, whether the username exists, the password
is wrong or the account is locked, so the page cannot be used to find accounts.

Sign-ins, sign-outs, refused sign-ins and revocations go into the hash-chained audit log
(entity ``reviewer_account``, keyed by username). A refused sign-in is recorded alike for
every cause and never with the password, so the log does not tell which usernames exist.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from review_ui.password_policy import PasswordRefused, check_password
from scoring.domain.errors import (
    ConflictError,
    EngineError,
    InvalidInputError,
    NotAuthenticatedError,
)
from scoring.domain.permissions import Actor, Role
from scoring.service import audit
from scoring.storage.audit_log import AuditLog
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import User
from scoring.storage.tables_web_sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT
from scoring.storage.write_turn import take_write_lock, write_turn

ROLES = (
    "reviewer",
    "senior_reviewer",
    "auditor",
    "risk_analyst",
    "risk_approver",
    "oversight",
    "data_protection_officer",
)
MAX_FAILED_SIGN_INS = 5
LOCK_OUT = timedelta(minutes=15)
# Writing last_seen_at on every page view would serialise reviewers on SQLite for nothing.
_TOUCH_INTERVAL = timedelta(minutes=1)
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
SIGN_IN_REFUSED = (
    "Sign-in failed: the username or password is wrong, or the account is locked after "
    f"{MAX_FAILED_SIGN_INS} failed attempts (for {int(LOCK_OUT.total_seconds() // 60)} minutes)."
)

AUDIT_ENTITY = "reviewer_account"
# What a refused sign-in records for a name that cannot be a username (a password typed
# into the wrong field, say): such text is not kept.
NOT_A_USERNAME = "(not a username)"
ANONYMOUS = "anonymous"
# What a throttled address's entry is keyed by: its guesses need not name any one account.
SIGN_IN_FORM = "(sign-in form)"

_hasher = PasswordHasher()
# Each argon2 hash takes 64 MiB for a tenth of a second: at most this many run at once per
# process, so a burst of sign-ins waits its turn instead of exhausting memory.
ARGON2_AT_ONCE = 2
_ARGON2_SLOTS = threading.BoundedSemaphore(ARGON2_AT_ONCE)
# Verified when the username is unknown, so a refusal takes as long either way. Made on
# the first sign-in rather than at import (a hash takes a tenth of a second or more).
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


class AccountError(EngineError):
    """Base class of account errors; messages are safe to show to the person."""


class InvalidAccount(AccountError, InvalidInputError):
    """A new account's username, role or password is not acceptable."""


class UsernameTaken(AccountError, ConflictError):
    """Another account already has this username."""


class SignInRefused(AccountError, NotAuthenticatedError):
    """Wrong username or password, or a locked or inactive account (deliberately one message)."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_REFUSED)


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie token (shown once) and its CSRF token."""

    token: str
    csrf_token: str
    actor: Actor


@dataclass(frozen=True)
class ActiveSession:
    actor: Actor
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class AccountEvent:
    """A sign-in, sign-out, refused sign-in or revocation, as the oversight page lists it."""

    seq: int
    at: datetime
    actor: str
    action: str
    username: str
    details: dict[str, object]


def _actor(user: User) -> Actor:
    """The person of a stored account; the row itself never leaves this module."""
    return Actor(user.id, user.username, Role(user.role), user.training_completed_on)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    *,
    uow: UnitOfWork,
    username: str,
    role: str,
    password: str,
    training_completed_on: date | None = None,
) -> Actor:
    """Create a personal account with an argon2-hashed password."""
    if not _USERNAME.match(username):
        raise InvalidAccount(
            "username must be 3-64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    if role not in ROLES:
        raise InvalidAccount(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    _check_password(password, username=username)
    accounts = uow.accounts
    if accounts.user_id_named(username) is not None:
        raise UsernameTaken(f"an account named {username!r} exists already")
    user = accounts.add_user(
        username=username,
        password_hash=_hash(password),
        role=role,
        training_completed_on=training_completed_on,
    )
    return _actor(user)


def account_exists(*, uow: UnitOfWork, username: str) -> bool:
    """Whether an account with this username exists (active or not)."""
    return uow.accounts.user_id_named(username) is not None


def set_password(
    *, uow: UnitOfWork, username: str, password: str, role: str | None = None
) -> Actor:
    """Give an existing account a new password (and role), unlock it and end its sessions."""
    _check_password(password, username=username)
    if role is not None and role not in ROLES:
        raise InvalidAccount(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    accounts = uow.accounts
    user = accounts.user_named(username)
    if user is None:
        raise InvalidAccount(f"no account is named {username!r}")
    user.password_hash = _hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.active = True
    if role is not None:
        user.role = role
    accounts.delete_sessions_of(user.id)
    return _actor(user)


def sign_in(*, uow: UnitOfWork, username: str, password: str, now: datetime) -> SignedIn:
    """Check a password and open a session; five failures lock the account for 15 minutes.

    The password is checked with no transaction open; the writes that follow (the count
    of failures or the session, and the audit entry) take the writer's turn with the
    decisions on SQLite, on an account read again inside it, so a sign-in neither holds a
    lock for the length of a hash nor fails with "database is locked" under decision load.
    """
    accounts = uow.accounts
    username = username.strip().lower()
    user = accounts.user_named(username)
    stored_hash = user.password_hash if user is not None else _dummy_hash()
    uow.commit()  # ends the read; nothing is locked while the hash is checked
    matches = _verify(stored_hash, password)
    with write_turn(uow.session):
        take_write_lock(uow.session)
        user = accounts.user_named(username)
        usable = user is not None and user.active and user.password_hash == stored_hash
        if user is None or not usable:
            _refuse(uow, username=username, now=now)
        if user.locked_until is not None and user.locked_until > now:
            _refuse(uow, username=username, now=now)
        if not matches:
            failed = user.failed_logins + 1
            # Counted in the database, so parallel guesses cannot slip past the limit.
            if failed >= MAX_FAILED_SIGN_INS:
                accounts.lock_out(user.id, until=now + LOCK_OUT)
            else:
                accounts.count_failed_sign_in(user.id, failed)
            _refuse(uow, username=username, now=now)
        user.failed_logins = 0
        user.locked_until = None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hash(password)
        # Sessions that can no longer be used are deleted here, so the table does not grow.
        delete_expired_sessions(uow=uow, now=now)
        token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        accounts.add_session(
            token_hash=_token_hash(token),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
        )
        _record(
            uow.audit_log,
            now=now,
            actor=_label(user.username),
            action="signed_in",
            username=username,
        )
        signed = SignedIn(token=token, csrf_token=csrf_token, actor=_actor(user))
        uow.commit()
    return signed


def authenticate(*, uow: UnitOfWork, username: str, password: str, now: datetime) -> Actor:
    """Check a person's password for one command-line action (no session is opened).

    The same checks and lock-out as the web sign-in; the audit log records it.
    """
    user = _checked_user(uow=uow, username=username, password=password, now=now)
    _record(
        uow.audit_log,
        now=now,
        actor=_label(user.username),
        action="authenticated",
        username=user.username,
        details={"channel": "cli"},
    )
    return _actor(user)


def _checked_user(*, uow: UnitOfWork, username: str, password: str, now: datetime) -> User:
    """The active account whose password this is; refuses (and counts) anything else."""
    accounts = uow.accounts
    username = username.strip().lower()
    user = accounts.user_named(username)
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        _refuse(uow, username=username, now=now)
    if user.locked_until is not None and user.locked_until > now:
        _verify(_dummy_hash(), password)
        _refuse(uow, username=username, now=now)
    if not _verify(user.password_hash, password):
        failed = user.failed_logins + 1
        # Counted in the database, so parallel guesses cannot slip past the limit.
        if failed >= MAX_FAILED_SIGN_INS:
            accounts.lock_out(user.id, until=now + LOCK_OUT)
        else:
            accounts.count_failed_sign_in(user.id, failed)
        _refuse(uow, username=username, now=now)
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _refuse(uow: UnitOfWork, *, username: str, now: datetime) -> NoReturn:
    """Record a refused sign-in (the same entry for every cause), keep it, and refuse."""
    shown = username if _USERNAME.match(username) else NOT_A_USERNAME
    _record(uow.audit_log, now=now, actor=ANONYMOUS, action="sign_in_refused", username=shown)
    uow.commit()
    raise SignInRefused()


def record_throttled(*, uow: UnitOfWork, now: datetime, refused: int, window: timedelta) -> None:
    """Record that one address had ``refused`` sign-ins refused within ``window`` (no address)."""
    _record(
        uow.audit_log,
        now=now,
        actor=ANONYMOUS,
        action="sign_ins_throttled",
        username=SIGN_IN_FORM,
        details={"refused": refused, "within_minutes": int(window.total_seconds() // 60)},
    )


def _label(username: str) -> str:
    """How the audit log names a signed-in person (as ``Actor.label`` does)."""
    return f"user:{username}"


def _record(
    audit_log: AuditLog,
    *,
    now: datetime,
    actor: str,
    action: str,
    username: str,
    details: dict[str, object] | None = None,
) -> None:
    audit_log.append(
        at=now,
        actor=actor,
        action=action,
        entity_type=AUDIT_ENTITY,
        entity_id=username,
        details=details,
    )


def _check_password(password: str, *, username: str) -> None:
    try:
        check_password(password, username=username)
    except PasswordRefused as refusal:
        raise InvalidAccount(str(refusal), field="password") from None


def _verify(password_hash: str, password: str) -> bool:
    with _ARGON2_SLOTS:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _hash(password: str) -> str:
    with _ARGON2_SLOTS:
        return _hasher.hash(password)


def active_session(*, uow: UnitOfWork, token: str, now: datetime) -> ActiveSession | None:
    """The session a cookie token belongs to, or None when unknown, revoked, idle or expired."""
    row = uow.accounts.web_session(_token_hash(token))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= IDLE_TIMEOUT:
        row.revoked_at = now
        return None
    if now - row.last_seen_at >= _TOUCH_INTERVAL:
        row.last_seen_at = now
    return ActiveSession(_actor(row.user), row.csrf_token, row.expires_at)


def sign_out(*, uow: UnitOfWork, token: str, now: datetime) -> None:
    """Revoke the session of a cookie token; signing out twice is harmless."""
    row = uow.accounts.web_session(_token_hash(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        username = row.user.username
        _record(
            uow.audit_log, now=now, actor=_label(username), action="signed_out", username=username
        )


def delete_expired_sessions(*, uow: UnitOfWork, now: datetime) -> int:
    """Delete every session that is revoked, idle too long or past its end; how many went."""
    return uow.accounts.delete_ended_sessions(now)


def revoke_sessions(
    *, uow: UnitOfWork, username: str, now: datetime, actor: str, deactivate: bool = False
) -> int:
    """End every session of an account at once (and with ``deactivate`` close the account)."""
    accounts = uow.accounts
    user = accounts.user_named(username.strip().lower())
    if user is None:
        raise InvalidAccount(f"no account is named {username!r}")
    ended = accounts.delete_open_sessions_of(user.id)
    if deactivate:
        user.active = False
    _record(
        uow.audit_log,
        now=now,
        actor=actor,
        action="account_deactivated" if deactivate else "sessions_revoked",
        username=user.username,
        details={"sessions_ended": ended},
    )
    return ended


def account_activity(*, session: Session, limit: int = 50) -> list[AccountEvent]:
    """The newest sign-ins, sign-outs, refusals and revocations, newest first."""
    return [
        AccountEvent(e.seq, e.at, e.actor, e.action, e.entity_id, dict(e.details))
        for e in audit.latest(session=session, entity_type=AUDIT_ENTITY, limit=limit)
    ]


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a form's CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
