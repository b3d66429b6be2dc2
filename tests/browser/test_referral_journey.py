"""A referral case in a real browser: from the queue to a first decision made by a person."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from browser_steps import screenshot, sign_in

from scoring.storage.db import UnitOfWork, create_engine_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "review"))

from review_cases import case_row, referral_case  # noqa: E402

JUSTIFICATION = (
    "Thin file and a satisfactory bureau class: the instalment is a third of the stated "
    "monthly margin, but two recent enquiries elsewhere make the risk too high for now."
)
EXPLANATION_ET = (
    "Meil puudub teie maksete ajalugu ja krediidibüroo hinnangul on teie makseraskuste "
    "tõenäosus praegu liiga suur, et seda järelmaksu pakkuda."
)
EXPLANATION_EN = (
    "We have no payment history for you, and the credit bureau's rating puts your risk of "
    "payment difficulty too high for this plan now."
)


def _on_database(database_url: str, work):  # type: ignore[no-untyped-def]
    engine = create_engine_for(database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            return work(uow)
    finally:
        engine.dispose()


def test_a_referral_from_the_queue_to_its_outcome(new_page, live_app):
    now = datetime.now(UTC)
    # Received 29 days ago: the nearest deadline, so the first case of the queue.
    case_id = _on_database(
        live_app.database_url, lambda uow: referral_case(uow, now=now, received_days_ago=29)
    )
    page = new_page()
    sign_in(page, "lena")
    first = page.get_by_test_id("queue-row").first
    assert case_id[:8] in first.inner_text() and "referral" in first.inner_text()

    page.get_by_test_id("claim-next").click()
    page.wait_for_url(re.compile(rf"/review/cases/{case_id}$"))
    # Nothing was decided: the choices are a first decision's, with no uphold or overturn.
    assert "Nothing was decided" in page.get_by_test_id("first-decision").inner_text()
    values = [
        page.locator("input[name=outcome]").nth(i).get_attribute("value")
        for i in range(page.locator("input[name=outcome]").count())
    ]
    assert values == ["approved", "declined", "terms_changed"]
    assert page.locator("input[name=outcome][value=upheld]").count() == 0
    screenshot(page, "referral-case")

    page.check("input[name=outcome][value=declined]")
    page.get_by_test_id("justification").fill(JUSTIFICATION)
    page.click("button[name=then][value=stay]")
    # A decline needs the explanation the customer reads, apart from the justification.
    assert "explanation for the customer in Estonian" in page.locator(".error").inner_text()
    assert page.get_by_test_id("case-status").inner_text() == "claimed"
    page.check("input[name=outcome][value=declined]")
    page.get_by_test_id("customer-explanation-et").fill(EXPLANATION_ET)
    page.get_by_test_id("customer-explanation-en").fill(EXPLANATION_EN)
    screenshot(page, "referral-decide-form")
    page.click("button[name=then][value=stay]")
    assert page.get_by_test_id("case-status").inner_text() == "resolved"
    assert EXPLANATION_EN in page.get_by_test_id("customer-explanation-shown").inner_text()
    assert page.get_by_test_id("outcome-value").inner_text() == "declined"
    screenshot(page, "referral-resolved")

    stored = _on_database(live_app.database_url, lambda uow: case_row(uow, case_id))
    assert stored.status == "resolved" and stored.resulting_decision_id is not None

    # The sales system reads the outcome and the letter, which says what happened.
    from scoring.service.api_keys import create_api_key

    key = _on_database(
        live_app.database_url,
        lambda uow: create_api_key(uow=uow, client="sales", scopes=["reviews:read"]).key,
    )
    review = httpx.get(
        f"{live_app.base_url}/v1/reviews/{case_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).json()
    assert review["kind"] == "referral" and review["resulting_outcome"] == "decline"
    letter = review["letter"]["en"]
    assert "could neither approve nor decline your application" in letter
    assert "Your application is declined" in letter
    assert "asked us to review our decision" not in letter
    estonian = review["letter"]["et"]
    assert "ei saanud teie taotlust ei heaks kiita ega tagasi lükata" in estonian
    # Each letter quotes the explanation in its own language; neither the justification.
    assert EXPLANATION_EN in letter and EXPLANATION_ET in estonian
    assert EXPLANATION_EN not in estonian and JUSTIFICATION not in letter + estonian
    assert "/v1/" not in letter + estonian
