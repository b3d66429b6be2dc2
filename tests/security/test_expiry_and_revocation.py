"""API keys and reviewer sessions expire and can be revoked, and then stop working at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from web_session import sign_in

from scoring.service.api_keys import create_api_key, revoke_api_key
from scoring.storage.db import UnitOfWork

PASSWORD = "correct horse battery staple"


def decision_path() -> str:
    return "/v1/decisions/D-unknown"


def key(runtime, **kwargs) -> str:  # type: ignore[no-untyped-def]
    return create_api_key(
        uow=UnitOfWork(runtime.sessions), client="sales", scopes=["decisions:read"],
        clock=runtime.clock, **kwargs,
    ).key  # fmt: skip


def test_a_key_works_until_it_expires_then_is_401(api, runtime):  # type: ignore[no-untyped-def]
    issued = key(runtime, expires_at=runtime.clock.now + timedelta(hours=1))
    headers = {"Authorization": f"Bearer {issued}"}
    assert api.get(decision_path(), headers=headers).status_code == 404
    runtime.clock.now += timedelta(hours=1)
    expired = api.get(decision_path(), headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "the API key has expired"


def test_a_revoked_key_is_401_at_once_and_revoking_twice_is_harmless(api, runtime):  # type: ignore[no-untyped-def]
    issued = key(runtime)
    headers = {"Authorization": f"Bearer {issued}"}
    assert api.get(decision_path(), headers=headers).status_code == 404
    prefix = issued.split("_")[1]
    for _ in range(2):
        revoke_api_key(uow=UnitOfWork(runtime.sessions), prefix=prefix, clock=runtime.clock)
    revoked = api.get(decision_path(), headers=headers)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["message"] == "the API key was revoked"


def test_a_key_cannot_be_issued_already_expired(runtime):  # type: ignore[no-untyped-def]
    from scoring.service.errors import ApiKeyError

    with pytest.raises(ApiKeyError, match="expiry lies in the past"):
        key(runtime, expires_at=runtime.clock.now - timedelta(seconds=1))


def test_a_key_with_its_secret_changed_is_401(api, runtime):  # type: ignore[no-untyped-def]
    issued = key(runtime)
    forged = issued[:-1] + ("A" if issued[-1] != "A" else "B")
    response = api.get(decision_path(), headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def signed_in_queue(api):  # type: ignore[no-untyped-def]
    return api.get("/review/queue")


def test_a_session_ends_after_30_idle_minutes(api, runtime, accounts):  # type: ignore[no-untyped-def]
    sign_in(api, "rita", PASSWORD)
    runtime.clock.now += timedelta(minutes=29)
    assert signed_in_queue(api).status_code == 200
    runtime.clock.now += timedelta(minutes=30)
    ended = signed_in_queue(api)
    assert ended.status_code == 303
    assert ended.headers["location"].endswith("/review/login")


def test_a_session_ends_12_hours_after_sign_in_however_active(api, runtime, accounts):  # type: ignore[no-untyped-def]
    sign_in(api, "rita", PASSWORD)
    for _ in range(35):  # active every 20 minutes for 11 h 40 min
        runtime.clock.now += timedelta(minutes=20)
        assert signed_in_queue(api).status_code == 200
    runtime.clock.now += timedelta(minutes=20)
    assert signed_in_queue(api).status_code == 303


def test_signing_out_ends_the_session_on_the_server(api, runtime, accounts):  # type: ignore[no-untyped-def]
    csrf = sign_in(api, "sven", PASSWORD)
    stolen = api.cookies.get("review_session")
    assert stolen
    assert api.post("/review/logout", data={"csrf_token": csrf}).status_code == 303
    # Replaying the old cookie (as someone who copied it would) no longer works.
    api.cookies.set("review_session", stolen, path="/review")
    assert signed_in_queue(api).status_code == 303


def test_a_new_password_ends_every_session_of_the_account(api, runtime, accounts):  # type: ignore[no-untyped-def]
    from review_ui.accounts import set_password

    sign_in(api, "aino", PASSWORD)
    assert signed_in_queue(api).status_code == 200
    with UnitOfWork(runtime.sessions) as uow:
        set_password(uow=uow, username="aino", password="another long password")
    assert signed_in_queue(api).status_code == 303


def test_a_deactivated_account_loses_its_session(api, runtime, accounts):  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from scoring.storage.tables import User

    sign_in(api, "rita", PASSWORD)
    with UnitOfWork(runtime.sessions) as uow:
        uow.session.execute(update(User).where(User.username == "rita").values(active=False))
    assert signed_in_queue(api).status_code == 303
