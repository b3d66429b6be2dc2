"""Demo accounts: one reviewer, one senior reviewer and one auditor, with fresh passwords."""

from __future__ import annotations

import secrets
from datetime import date

from review_ui.accounts import account_exists, add_user, set_password
from scoring.storage.db import UnitOfWork

DEMO_ACCOUNTS = (
    ("reviewer", "reviewer"),
    ("senior", "senior_reviewer"),
    ("auditor", "auditor"),
)


def seed_demo_reviewers(
    *, uow: UnitOfWork, trained_on: date | None = None
) -> list[tuple[str, str, str]]:
    """Create (or reset the password of) the demo accounts; returns (username, role, password)."""
    seeded = []
    for username, role in DEMO_ACCOUNTS:
        # Random per run: a demo database copied elsewhere does not carry a known password.
        password = f"demo-{secrets.token_urlsafe(9)}"
        if not account_exists(uow=uow, username=username):
            add_user(
                uow=uow,
                username=username,
                role=role,
                password=password,
                training_completed_on=trained_on,
            )
        else:
            set_password(uow=uow, username=username, password=password, role=role)
        seeded.append((username, role, password))
    return seeded
