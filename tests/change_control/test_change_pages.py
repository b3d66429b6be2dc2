"""Change control in the web UI: the proposer cannot approve, a second person can; the
oversight role stops and restarts automated decisions with a reason."""

from __future__ import annotations

import re

import pytest
from change_fakes import NOW
from fastapi import FastAPI
from fastapi.testclient import TestClient

from review_ui.accounts import add_user
from review_ui.app import create_review_app
from scoring.service import change_control as cc
from scoring.service import policy_in_force as pif

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher

    from review_ui import accounts as module

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(module, "_hasher", cheap)
    monkeypatch.setattr(module, "_DUMMY_HASH", cheap.hash("dummy"))


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def web(uow_factory, registry):
    with uow_factory() as uow:
        for username, role in (
            ("anna", "risk_analyst"),
            ("peeter", "risk_approver"),
            ("olga", "oversight"),
            ("rita", "reviewer"),
        ):
            add_user(uow=uow, username=username, role=role, password=PASSWORD)
    app = FastAPI()
    app.mount(
        "/review", create_review_app(unit_of_work=uow_factory, clock=lambda: NOW, registry=registry)
    )

    def browser(username: str):
        client = TestClient(app, base_url="http://localhost", follow_redirects=False)
        form = client.get("/review/login")
        signed = client.post(
            "/review/login",
            data={
                "username": username,
                "password": PASSWORD,
                "csrf_token": _CSRF.search(form.text).group(1),
            },
        )
        assert signed.status_code == 303, signed.text
        landing = client.get(signed.headers["location"])
        client.csrf = _CSRF.search(landing.text).group(1)
        client.landing = landing
        return client

    return browser


def _actor(uow_factory, username):
    from scoring.domain.permissions import Actor, Role

    with uow_factory() as uow:
        user = uow.accounts.user_named(username)
        return Actor(user.id, user.username, Role(user.role))


def test_the_proposer_sees_no_approve_button_and_is_refused_and_a_second_person_approves(
    web, uow_factory, registry
):
    with uow_factory() as uow:
        change = cc.propose_champion(
            uow=uow,
            registry=registry,
            actor=_actor(uow_factory, "anna"),
            version="2",
            reason="better calibrated",
            now=NOW,
        )
    anna = web("anna")
    assert "Model and policy changes" in anna.landing.text
    assert 'data-testid="approve-form"' not in anna.landing.text
    assert "not you: you proposed it" in anna.landing.text
    own = anna.post(f"/review/changes/{change.id}/approve", data={"csrf_token": anna.csrf})
    assert own.status_code == 403
    assert "risk_approver" in own.text
    assert "champion" not in registry.aliases

    peeter = web("peeter")
    assert 'data-testid="approve-form"' in peeter.landing.text
    # The approver opens the version's model card from the change itself.
    assert '/review/models/2/card" data-testid="model-card-link"' in peeter.landing.text
    approved = peeter.post(
        f"/review/changes/{change.id}/approve",
        data={"csrf_token": peeter.csrf, "note": "read the card"},
    )
    assert approved.status_code == 303
    page = peeter.get(approved.headers["location"]).text
    assert f"Change {change.id} approved" in page
    assert "Approved champion: <strong>model version 2</strong>" in page
    assert registry.aliases["champion"] == "2"


def test_a_reviewer_lands_on_the_queue_and_cannot_stop_automation(web):
    rita = web("rita")
    refused = rita.post(
        "/review/automation",
        data={"csrf_token": rita.csrf, "action": "stop", "reason": "I want a break"},
    )
    assert refused.status_code == 403
    assert "oversight role" in refused.text


def test_the_oversight_role_stops_and_restarts_automated_decisions(web, uow_factory):
    olga = web("olga")
    assert 'data-testid="automation-state">On' in olga.landing.text
    missing = olga.post("/review/automation", data={"csrf_token": olga.csrf, "action": "stop"})
    assert missing.status_code == 422 and "reason" in missing.text

    stopped = olga.post(
        "/review/automation",
        data={"csrf_token": olga.csrf, "action": "stop", "reason": "bureau feed suspect"},
    )
    assert stopped.status_code == 303
    page = olga.get(stopped.headers["location"]).text
    assert 'data-testid="automation-state">Stopped' in page
    assert "bureau feed suspect" in page
    with uow_factory() as uow:
        assert pif.automation_state(uow=uow).automated_decisions is False

    started = olga.post(
        "/review/automation",
        data={"csrf_token": olga.csrf, "action": "start", "reason": "feed repaired"},
    )
    assert 'data-testid="automation-state">On' in olga.get(started.headers["location"]).text


def test_a_users_models_rollback_names_the_model_and_the_served_champion_stays(
    web, uow_factory, registry
):
    anna, peeter = _actor(uow_factory, "anna"), _actor(uow_factory, "peeter")
    for version, model in (("3", "installment-pd"), ("1", "german-credit-pd"),
                           ("2", "german-credit-pd")):  # fmt: skip
        with uow_factory() as uow:
            change = cc.propose_champion(
                uow=uow, registry=registry, actor=anna, version=version, reason="next champion",
                now=NOW, model_name=model,
            )  # fmt: skip
        with uow_factory() as uow:
            cc.approve_change(
                uow=uow, registry=registry, actor=peeter, change_id=change.id, note="ok", now=NOW
            )
    with uow_factory() as uow:
        rollback = cc.propose_rollback(
            uow=uow, registry=registry, actor=anna, reason="version 2 misbehaves", now=NOW,
            model_name="german-credit-pd",
        )  # fmt: skip

    page = " ".join(web("peeter").landing.text.split())
    subject = "rollback of the champion to model german-credit-pd version 1"
    assert f"Change {rollback.id}: {subject}" in page
    assert "<dt>Replaces</dt><dd>model german-credit-pd version 2</dd>" in page
    # The served champion is the product's; the user's model's is shown apart, by name.
    assert "Approved champion: <strong>model version 3</strong>" in page
    assert "Approved champion of german-credit-pd: <strong>version 2</strong>" in page
    assert "No approved champion" not in page


def test_a_change_whose_champion_moved_says_so_and_offers_only_refusal(web, uow_factory, registry):
    anna = _actor(uow_factory, "anna")
    with uow_factory() as uow:
        first = cc.propose_champion(uow=uow, registry=registry, actor=anna, version="1",
                                    reason="the booster ranks better", now=NOW)  # fmt: skip
        stale = cc.propose_champion(uow=uow, registry=registry, actor=anna, version="2",
                                    reason="the scorecard explains better", now=NOW)  # fmt: skip
    with uow_factory() as uow:
        cc.approve_change(uow=uow, registry=registry, actor=_actor(uow_factory, "peeter"),
                          change_id=first.id, note="read the card", now=NOW)  # fmt: skip

    page = web("peeter").get("/review/changes").text

    card = page.split(f'data-testid="change-{stale.id}"')[1].split("</section>")[0]
    assert 'data-testid="stale"' in card
    assert (
        f"change {stale.id} was proposed when model installment-pd had no champion; its "
        f"champion is version 1 (change {first.id}) now"
    ) in card
    assert 'data-testid="approve-form"' not in card and 'data-testid="refuse-form"' in card
    approved = page.split(f'data-testid="change-{first.id}"')[1].split("</section>")[0]
    assert 'data-testid="stale"' not in approved
