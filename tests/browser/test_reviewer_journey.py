"""A reviewer's day in a real browser: sign in, claim, read, decide, second signature, refusals."""

from __future__ import annotations

import re

import httpx
from browser_steps import PASSWORD, screenshot, sign_in
from review_ui_cases import STATEMENT
from sqlalchemy import select

from scoring.storage.db import UnitOfWork, create_engine_for
from scoring.storage.tables import ReviewCase

SECTIONS = [
    "statement",
    "decision-under-review",
    "raw-inputs",
    "bureau-class",
    "probability-of-default",
    "reasons",
    "waterfall",
    "counterfactual",
    "policy-rules",
]


def _case(database_url: str, case_id: str) -> ReviewCase:
    engine = create_engine_for(database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            return uow.session.scalar(select(ReviewCase).where(ReviewCase.id == case_id))
    finally:
        engine.dispose()


def test_overturn_with_second_signature_from_queue_to_outcome(new_page, live_app):
    near_due, _ = live_app.case_ids
    page = new_page()
    sign_in(page, "rita")
    assert page.get_by_test_id("signed-in-as").inner_text().startswith("rita")
    rows = page.get_by_test_id("queue-row")
    assert rows.count() == 2
    # The case nearest its deadline comes first and is flagged.
    assert near_due[:8] in rows.first.inner_text()
    assert "near due" in rows.first.inner_text()
    # Triage columns: amount, product, outcome, top reason, days to the deadline.
    assert rows.first.get_by_test_id("queue-amount").inner_text().endswith(" EUR")
    assert rows.first.get_by_test_id("queue-days-left").inner_text().strip().isdigit()
    assert "decline" in rows.first.inner_text() and "heat pump" in rows.first.inner_text()
    # The top reason in a few words, its code and whole text on hover.
    top = rows.first.get_by_test_id("queue-top-reason")
    assert top.inner_text().strip() and not top.inner_text().strip().startswith(("R0", "R1"))
    assert re.match(r"R\d\d_", top.get_attribute("title") or "")
    screenshot(page, "queue")

    page.get_by_test_id("claim-next").click()
    page.wait_for_url(re.compile(rf"/review/cases/{near_due}$"))

    # The statement comes first, and every section is on the page in order.
    positions = [page.get_by_test_id(name).bounding_box()["y"] for name in SECTIONS]
    assert positions == sorted(positions)
    assert STATEMENT in page.get_by_test_id("statement").inner_text()
    # The known limits are those model version 3's evaluation measured for thin files.
    limits = page.get_by_test_id("known-limits").inner_text()
    assert "Thin file" in limits and "under-estimates their risk" in limits
    assert "Thin file" in page.get_by_test_id("segment-measures").inner_text()
    # The PD with its interval, drawn against the policy's cut-offs.
    assert "95 % interval" in page.get_by_test_id("pd-interval").inner_text()
    assert page.get_by_test_id("pd-interval-band").count() == 1
    assert "Wilson interval" in page.get_by_test_id("pd-interval-basis").inner_text()
    cutoffs = page.get_by_test_id("pd-cutoffs")
    assert "approve" in cutoffs.text_content() and "15.0 %" in cutoffs.text_content()
    # Inputs by label, rounded, with units.
    application = page.get_by_test_id("application-features").inner_text()
    assert "Monthly instalment" in application and "€" in application
    card = page.get_by_test_id("model-card-link")
    assert card.get_attribute("href", timeout=1000).endswith("/review/models/3/card")
    assert "satisfactory" in page.get_by_test_id("bureau-class").inner_text().lower()
    assert page.locator("[data-testid=waterfall] svg rect").count() > 3
    history = page.get_by_test_id("payment-history").inner_text()
    assert "Longest delay, past year" in history and " days" in history
    # No outcome is pre-selected.
    radios = page.locator("input[name=outcome]")
    assert radios.count() == 3
    assert all(not radios.nth(i).is_checked() for i in range(3))
    screenshot(page, "case")
    card_page = new_page()
    sign_in(card_page, "aino")
    card_page.goto("/review/models/3/card")
    assert "Model card: installment-pd version 3" in card_page.locator("h1").inner_text()
    card_page.goto("/review/models/99/card")
    assert "no model version 99" in card_page.get_by_test_id("not-found").inner_text()

    # Without a justification the decision is refused and nothing changes.
    page.check("input[name=outcome][value=overturned]")
    page.click("button[name=then][value=stay]")
    assert "justification is required" in page.locator(".error").inner_text()
    assert _case(live_app.database_url, near_due).status == "claimed"

    page.check("input[name=outcome][value=overturned]")
    page.get_by_test_id("justification").fill(
        "The two late invoices were paid in full in October; the delay was a bank error "
        "confirmed by the payment records. The remaining history is clean."
    )
    page.click("button[name=then][value=stay]")
    assert "second signature" in page.locator(".notice").inner_text()
    assert page.get_by_test_id("case-status").inner_text() == "awaiting second signature"

    # The proposer cannot sign their own proposal; a senior reviewer signs it.
    assert page.get_by_test_id("second-signature").count() == 0
    senior = new_page()
    sign_in(senior, "sven")
    assert near_due[:8] in senior.get_by_test_id("to-sign").inner_text()
    senior.goto(f"/review/cases/{near_due}")
    senior.check("input[name=verdict][value=sign]")
    senior.fill(
        "[data-testid=second-signature] textarea[name=justification]",
        "Checked the payment records: the lateness was the bank's, the overturn is right.",
    )
    senior.click("[data-testid=second-signature] button[type=submit]")
    assert senior.get_by_test_id("case-status").inner_text() == "resolved"
    assert senior.get_by_test_id("outcome-value").inner_text() == "overturned"
    assert senior.get_by_test_id("resulting-decision").count() == 1
    trail = senior.get_by_test_id("case-audit").inner_text()
    assert "claimed" in trail and "proposed for second signature" in trail

    stored = _case(live_app.database_url, near_due)
    assert stored.status == "resolved"
    assert stored.second_signature_by is not None
    assert stored.resulting_decision_id is not None

    # The sales system learns the outcome by polling its review with its own API key.
    key = _sales_system_key(live_app.database_url)
    answer = httpx.get(
        f"{live_app.base_url}/v1/reviews/{near_due}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 200
    review = answer.json()
    assert review["status"] == "resolved" and review["outcome"] == "overturned"
    assert review["resulting_outcome"] == "approve"
    assert review["letter"]["en"] and review["letter"]["et"]


def _sales_system_key(database_url: str) -> str:
    from scoring.service.api_keys import create_api_key

    engine = create_engine_for(database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            return create_api_key(uow=uow, client="sales", scopes=["reviews:read"]).key
    finally:
        engine.dispose()


def test_an_auditor_sees_everything_and_can_change_nothing(new_page, live_app):
    _, other = live_app.case_ids
    page = new_page()
    sign_in(page, "aino")
    assert page.get_by_test_id("queue-row").count() == 2
    assert page.get_by_test_id("claim-next").count() == 0
    page.goto(f"/review/cases/{other}")
    assert STATEMENT in page.get_by_test_id("statement").inner_text()
    assert page.locator("main form").count() == 0
    assert page.locator("main input[type=radio]").count() == 0
    # Even a well-formed POST with the auditor's own CSRF token is refused.
    token = page.locator("header input[name=csrf_token]").input_value()
    answer = page.request.post(
        f"/review/cases/{other}/claim", form={"csrf_token": token}, max_redirects=0
    )
    assert answer.status == 403
    assert _case(live_app.database_url, other).status == "open"
    page.goto("/review/oversight")
    assert "Per reviewer" in page.content()


def test_a_forged_form_without_the_csrf_token_changes_nothing(new_page, live_app):
    _, other = live_app.case_ids
    page = new_page()
    sign_in(page, "rita")
    answer = page.request.post(f"/review/cases/{other}/claim", form={}, max_redirects=0)
    assert answer.status == 403
    assert "security token" in answer.text()
    assert _case(live_app.database_url, other).status == "open"


def test_five_wrong_passwords_lock_the_account(new_page):
    page = new_page()
    for _ in range(5):
        sign_in(page, "lena", "not the password at all")
        assert "Sign-in failed" in page.locator(".error").inner_text()
    sign_in(page, "lena", PASSWORD)
    assert "Sign-in failed" in page.locator(".error").inner_text()
    assert "/review/login" in page.url
