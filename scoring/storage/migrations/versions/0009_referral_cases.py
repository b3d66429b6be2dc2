"""Referral cases and the outcomes of cases where nothing was decided before.

A refer now opens a ``referral`` case, and a reviewer ends a referral, a requested human
review or an objection ``approved`` or ``declined`` (a contest stays ``upheld``,
``overturned`` or ``terms_changed``).

Revision ID: 0009_referral_cases
Revises: 0008_subject_proof
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_referral_cases"
down_revision: str | None = "0008_subject_proof"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = "kind IN ('contest', 'human_review_requested', 'objection')"
_KINDS_AFTER = "kind IN ('contest', 'human_review_requested', 'objection', 'referral')"
_OUTCOMES_BEFORE = "outcome IS NULL OR outcome IN ('upheld', 'overturned', 'terms_changed')"
_OUTCOMES_AFTER = (
    "outcome IS NULL OR outcome IN "
    "('upheld', 'overturned', 'terms_changed', 'approved', 'declined')"
)


def _replace_checks(kinds: str, outcomes: str) -> None:
    with op.batch_alter_table("review_cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_review_cases_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_review_cases_outcome"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_review_cases_kind"), kinds)
        batch_op.create_check_constraint(batch_op.f("ck_review_cases_outcome"), outcomes)


def upgrade() -> None:
    _replace_checks(_KINDS_AFTER, _OUTCOMES_AFTER)


def downgrade() -> None:
    _replace_checks(_KINDS_BEFORE, _OUTCOMES_BEFORE)
