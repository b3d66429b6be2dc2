"""The queue and case pages on the server side: roles, forms, refusals that change nothing."""

from __future__ import annotations

import re

import pytest
from review_ui_cases import STATEMENT, case_row, contested_case
from review_ui_web import csrf_of, sign_in

from scoring.storage.db import UnitOfWork


@pytest.fixture
def case_id(ui_engine, clock, accounts) -> str:
    with UnitOfWork.for_engine(ui_engine) as uow:
        return contested_case(uow, now=clock(), amount_eur=3000.0)


def _status(ui_engine, case_id: str) -> str:
    with UnitOfWork.for_engine(ui_engine) as uow:
        return case_row(uow, case_id).status


def _claim(client, case_id: str) -> str:
    queue = client.get("/review/queue")
    answer = client.post("/review/queue/claim-next", data={"csrf_token": csrf_of(queue.text)})
    assert answer.headers["location"].endswith(f"/review/cases/{case_id}")
    return client.get(f"/review/cases/{case_id}").text


def test_the_case_page_shows_the_statement_before_the_model(client, case_id):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    assert page.index(STATEMENT) < page.index("What the model saw") < page.index("Policy rules")
    assert "<svg" in page
    assert "Thin file" in page


def test_no_outcome_is_pre_selected(client, case_id):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    radios = re.findall(r'<input type="radio" name="outcome"[^>]*>', page)
    assert len(radios) == 3
    assert not any("checked" in radio for radio in radios)


def test_a_decision_without_justification_is_refused_and_nothing_changes(
    client, case_id, ui_engine
):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        data={"csrf_token": csrf_of(page), "outcome": "upheld", "justification": " "},
    )
    assert answer.status_code == 422
    assert "justification is required" in answer.text
    assert _status(ui_engine, case_id) == "claimed"


def test_a_reviewer_upholds_with_a_justification_and_the_case_is_resolved(
    client, case_id, ui_engine
):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        data={
            "csrf_token": csrf_of(page),
            "outcome": "upheld",
            "justification": "The late payments are recent and confirmed by the records.",
            "then": "stay",
        },
    )
    assert answer.status_code == 303
    assert _status(ui_engine, case_id) == "resolved"


def test_an_auditor_gets_no_forms_and_their_posts_are_refused(client, case_id, ui_engine):
    sign_in(client, "aino")
    page = client.get(f"/review/cases/{case_id}").text
    assert STATEMENT in page
    main = page.split("<main>", 1)[1]
    assert "<form" not in main
    answer = client.post(f"/review/cases/{case_id}/claim", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 403
    assert _status(ui_engine, case_id) == "open"


def test_another_reviewers_case_cannot_be_decided(client, case_id, ui_engine):
    sign_in(client, "sven")
    _claim(client, case_id)
    client.cookies.clear()
    sign_in(client, "rita")
    page = client.get(f"/review/cases/{case_id}").text
    assert 'name="outcome"' not in page
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        data={
            "csrf_token": csrf_of(page),
            "outcome": "overturned",
            "justification": "Trying to decide a case somebody else holds.",
        },
    )
    assert answer.status_code in (403, 409)
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert case_row(uow, case_id).outcome is None


def test_oversight_lists_rates_and_undelivered_notifications(client, case_id):
    sign_in(client, "aino")
    page = client.get("/review/oversight")
    assert page.status_code == 200
    assert "Per reviewer" in page.text
    assert "Every notification was delivered" in page.text
