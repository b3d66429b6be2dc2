"""The demo's accounts: created on the first start, given new passwords on the next."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from review_ui.accounts import account_exists, sign_in
from scoring.cli.demo_setup import DEMO_ACCOUNTS, seed_demo_reviewers
from scoring.domain.permissions import Role
from scoring.storage.db import UnitOfWork

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_demo_accounts_are_created_once_and_reset_on_the_next_start(ui_engine: Engine):
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert not any(account_exists(uow=uow, username=name) for name, _ in DEMO_ACCOUNTS)
        first = seed_demo_reviewers(uow=uow)
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert all(account_exists(uow=uow, username=name) for name, _ in DEMO_ACCOUNTS)
        second = seed_demo_reviewers(uow=uow)
    assert [(name, role) for name, role, _ in first] == [(n, r) for n, r, _ in second]
    for (username, role, old), (_, _, new) in zip(first, second, strict=True):
        assert old != new
        with UnitOfWork.for_engine(ui_engine) as uow:
            signed = sign_in(uow=uow, username=username, password=new, now=NOW)
        assert signed.actor.username == username
        assert signed.actor.role is Role(role)
