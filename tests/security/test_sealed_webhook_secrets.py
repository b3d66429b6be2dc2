"""Webhook secrets are sealed in the database; deliveries are still signed with them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from scoring.service import webhooks
from scoring.storage.db import UnitOfWork, create_engine_for
from scoring.storage.migrate import alembic_config, upgrade
from scoring.storage.sealed import PREFIX, SealedSecretError, SecretSeal
from scoring.storage.tables import ApiClient

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = "whsec-the-receiver-and-the-engine-share-this"


def _client(engine, client_id: str = "shop") -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork.for_engine(engine) as uow:
        uow.session.add(ApiClient(id=client_id, name="Shop", created_at=NOW, active=True))


def _stored_secrets(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT secret FROM webhook_subscriptions")).scalars())


def test_the_database_holds_no_clear_secret_and_deliveries_are_signed_with_it(
    migrated_engine, db_url
):  # type: ignore[no-untyped-def]
    _client(migrated_engine)
    uow = UnitOfWork.for_engine(migrated_engine)
    created = webhooks.add_subscription(
        uow=uow, client="shop", url="http://receiver.test/hook", secret=SECRET, clock=lambda: NOW
    )
    assert created.secret == SECRET  # shown once to the operator, in clear
    (stored,) = _stored_secrets(migrated_engine)
    assert stored.startswith(PREFIX) and SECRET not in stored
    if db_url.startswith("sqlite"):
        raw = Path(db_url.removeprefix("sqlite:///")).read_bytes()
        assert SECRET.encode() not in raw, "the database file holds the secret in clear"

    with UnitOfWork.for_engine(migrated_engine) as work:
        webhooks.enqueue(session=work.session, client_ids=["shop"], event_type="review.resolved",
                         review_case_id=None, data={"outcome": "upheld"}, now=NOW)  # fmt: skip
    posted: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        done = webhooks.deliver_due(
            uow_factory=lambda: UnitOfWork.for_engine(migrated_engine), http=http, clock=lambda: NOW
        )
    assert done.delivered == 1
    (request,) = posted
    assert webhooks.verify_signature(
        secret=SECRET,
        header=request.headers[webhooks.SIGNATURE_HEADER],
        body=request.content,
        now=NOW,
    )
    assert json.loads(request.content)["data"] == {"outcome": "upheld"}


def test_the_upgrade_seals_secrets_stored_in_clear_before_it(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'installment.db'}"
    engine = create_engine_for(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0010_change_control")
    _client(engine)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO webhook_subscriptions (client_id, url, secret, created_at, active) "
                 "VALUES ('shop', 'http://receiver.test/hook', :secret, :now, 1)"),
            {"secret": SECRET, "now": NOW},
        )  # fmt: skip

    upgrade(url)

    (stored,) = _stored_secrets(engine)
    assert stored.startswith(PREFIX) and SECRET not in stored
    with UnitOfWork.for_engine(engine) as uow:
        (subscription,) = uow.webhook_outbox.subscriptions()
        assert subscription.secret == SECRET
    # And back: a downgrade gives the old schema its clear secrets again.
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0010_change_control")
    assert _stored_secrets(engine) == [SECRET]
    engine.dispose()


def test_a_secret_sealed_with_another_key_is_refused_by_name_not_shown():
    sealed = SecretSeal(b"k" * 32).seal(SECRET)
    with pytest.raises(SealedSecretError, match="another key") as refused:
        SecretSeal(b"o" * 32).open(sealed)
    assert SECRET not in str(refused.value)


def test_the_key_file_is_created_private_and_refused_when_others_may_read_it(tmp_path):  # type: ignore[no-untyped-def]
    from scoring.config import KeyFileError, load_settings, read_or_create_key

    settings = load_settings({"INSTALLMENT_HOME": str(tmp_path)})
    path = settings.webhook_secret_key_file
    assert path == tmp_path / "secrets" / "webhook-secrets.key"
    read_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match=f"chmod 600 {path}"):
        read_or_create_key(path)
