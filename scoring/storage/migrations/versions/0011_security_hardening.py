"""Webhook secrets sealed at rest; the data-protection officer's role.

Existing webhook secrets are sealed with the configured key file
(``INSTALLMENT_WEBHOOK_SECRET_KEY_FILE``, created on first use), so run this where the
engine's home is. The role column grows to hold ``data_protection_officer``.

Revision ID: 0011_security_hardening
Revises: 0010_change_control
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_security_hardening"
down_revision: str | None = "0010_change_control"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ROLES = (
    "role IN ('reviewer', 'senior_reviewer', 'auditor', 'admin', "
    "'risk_analyst', 'risk_approver', 'oversight')"
)
_NEW_ROLES = (
    "role IN ('reviewer', 'senior_reviewer', 'auditor', 'admin', "
    "'risk_analyst', 'risk_approver', 'oversight', 'data_protection_officer')"
)
_SUBSCRIPTIONS = sa.table(
    "webhook_subscriptions", sa.column("id", sa.BigInteger), sa.column("secret", sa.String)
)


def _rewrite_secrets(change) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    rows = connection.execute(sa.select(_SUBSCRIPTIONS.c.id, _SUBSCRIPTIONS.c.secret)).all()
    for row_id, secret in rows:
        new = change(secret)
        if new != secret:
            connection.execute(
                _SUBSCRIPTIONS.update().where(_SUBSCRIPTIONS.c.id == row_id).values(secret=new)
            )


def upgrade() -> None:
    from scoring.storage.sealed import PREFIX, configured_seal

    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )
    # Only the rows there are open the key file: a database without webhooks needs none.
    _rewrite_secrets(
        lambda secret: secret if secret.startswith(PREFIX) else configured_seal().seal(secret)
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("role", existing_type=sa.String(length=20), type_=sa.String(32))
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", _NEW_ROLES)


def downgrade() -> None:
    from scoring.storage.sealed import PREFIX, configured_seal

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", _OLD_ROLES)
        batch_op.alter_column("role", existing_type=sa.String(length=32), type_=sa.String(20))
    _rewrite_secrets(
        lambda secret: configured_seal().open(secret) if secret.startswith(PREFIX) else secret
    )
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
