"""Signing in: personal accounts, lock-out, sessions that end, and CSRF on every form."""

from __future__ import annotations

from datetime import timedelta

from review_ui_web import PASSWORD, csrf_of, sign_in
from sqlalchemy import func, select

from review_ui.accounts import IDLE_TIMEOUT, SIGN_IN_REFUSED
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import User
from scoring.storage.tables_web_sessions import WebSession


def test_a_reviewer_signs_in_and_lands_on_the_queue(client):
    answer = sign_in(client, "rita")
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/review/queue")
    cookie = answer.headers["set-cookie"]
    assert "review_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/review" in cookie
    # On the local machine the cookie works over plain HTTP; elsewhere it is Secure.
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_off_the_local_machine(client):
    client.base_url = "http://review.example.test"
    answer = sign_in(client, "rita")
    assert "Secure" in answer.headers["set-cookie"]


def test_pages_need_a_session(client):
    answer = client.get("/review/queue")
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/review/login")


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client):
    wrong = sign_in(client, "rita", "not the password")
    unknown = sign_in(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert SIGN_IN_REFUSED in wrong.text
    assert SIGN_IN_REFUSED in unknown.text
    assert "review_session=" not in wrong.headers.get("set-cookie", "")


def test_five_failures_lock_the_account_for_fifteen_minutes(client, clock, ui_engine):
    for _ in range(5):
        assert sign_in(client, "rita", "guess guess guess").status_code == 401
    # Even the right password is refused while locked, with the same message.
    locked = sign_in(client, "rita")
    assert locked.status_code == 401
    assert SIGN_IN_REFUSED in locked.text
    clock.advance(timedelta(minutes=15, seconds=1))
    assert sign_in(client, "rita").status_code == 303
    with UnitOfWork.for_engine(ui_engine) as uow:
        rita = uow.session.scalar(select(User).where(User.username == "rita"))
        assert rita.failed_logins == 0


def test_a_session_ends_after_idle_time(client, clock):
    sign_in(client, "rita")
    assert client.get("/review/queue").status_code == 200
    clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))
    assert client.get("/review/queue").status_code == 303


def test_signing_out_revokes_the_session_on_the_server(client, ui_engine):
    sign_in(client, "rita")
    page = client.get("/review/queue")
    stolen = client.cookies.get("review_session")
    answer = client.post("/review/logout", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    client.cookies.set("review_session", stolen, domain="localhost", path="/review")
    assert client.get("/review/queue").status_code == 303
    with UnitOfWork.for_engine(ui_engine) as uow:
        live = uow.session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.revoked_at.is_(None))
        )
    assert live == 0


def test_a_form_without_the_csrf_token_is_refused(client):
    sign_in(client, "rita")
    answer = client.post("/review/logout", data={})
    assert answer.status_code == 403
    assert "security token" in answer.text
    # Nothing changed: the session is still alive.
    assert client.get("/review/queue").status_code == 200


def test_a_sign_in_form_from_elsewhere_is_refused(client):
    answer = client.post(
        "/review/login", data={"username": "rita", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert answer.status_code == 403
    assert "review_session=" not in answer.headers.get("set-cookie", "")
