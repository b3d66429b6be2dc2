"""The queue and case pages on the server side: roles, forms, refusals that change nothing."""

from __future__ import annotations

import re

import pytest
from review_cases import STATEMENT, case_row, contested_case
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


def test_the_pd_is_drawn_against_the_policy_s_cut_offs(client, case_id):
    sign_in(client, "rita")
    page = client.get(f"/review/cases/{case_id}").text
    scale = _section(page, "probability-of-default")
    assert 'data-testid="pd-cutoffs"' in scale
    assert "approve below 6.0 %" in scale and "decline at or above 15.0 %" in scale
    assert "PD 17.1 % against the policy" in scale


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
    form = {
        "csrf_token": csrf_of(page),
        "outcome": "upheld",
        "justification": "The late payments are recent and confirmed by the records.",
        "then": "stay",
    }
    # An upheld decline needs the explanation the customer reads, in both languages.
    refused = client.post(f"/review/cases/{case_id}/decide", data=form)
    assert refused.status_code == 422
    assert "explanation for the customer in Estonian" in refused.text
    assert _status(ui_engine, case_id) == "claimed"
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        data={
            **form,
            "customer_explanation_et": (
                "Teie hilinenud maksed on hiljutised ja meie andmetes kinnitatud."
            ),
            "customer_explanation_en": (
                "Your late payments are recent and confirmed by our records."
            ),
        },
    )
    assert answer.status_code == 303
    assert _status(ui_engine, case_id) == "resolved"
    with UnitOfWork.for_engine(ui_engine) as uow:
        progress = uow.review_cases.progress(case_id)
        assert progress is not None
        assert progress.customer_explanation_et.startswith("Teie hilinenud maksed")
        assert progress.customer_explanation_en.startswith("Your late payments")
    shown = client.get(f"/review/cases/{case_id}").text
    assert "Your late payments are recent" in shown and "Internal justification" in shown


def test_the_customer_explanation_may_not_repeat_the_internal_justification(
    client, case_id, ui_engine
):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    why = "The late payments are recent and confirmed by the records."
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        data={
            "csrf_token": csrf_of(page),
            "outcome": "upheld",
            "justification": why,
            "customer_explanation_et": (
                "Teie hilinenud maksed on hiljutised ja meie andmetes kinnitatud."
            ),
            "customer_explanation_en": why,
        },
    )
    assert answer.status_code == 422
    assert "repeats the internal justification" in answer.text
    assert _status(ui_engine, case_id) == "claimed"


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


NOTE = "The statement says a bank error; please check the October payments with the bank."


def _section(page: str, testid: str) -> str:
    """The HTML of the element with ``data-testid=testid`` up to its closing section tag."""
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def test_application_inputs_have_their_own_section_in_both_languages(client, case_id):
    sign_in(client, "rita")
    page = client.get(f"/review/cases/{case_id}").text
    application = _section(page, "application-features")
    history = _section(page, "payment-history")
    assert "Model inputs from the application" in application
    assert 'lang="et"' in application and "Taotlusest arvutatud mudeli sisendid" in application
    assert "Payment history with the company" in history
    assert "Maksekäitumine ettevõtte arvete tasumisel" in history
    for label in ("Amount applied for", "Term", "Product", "Monthly instalment"):
        assert f">{label}</span>" in application
        assert f">{label}</span>" not in history
    assert "Longest delay, past year" in history and "Late invoices, past year" in history


def test_model_inputs_are_labelled_rounded_and_in_units_not_machine_names(client, case_id):
    sign_in(client, "rita")
    page = client.get(f"/review/cases/{case_id}").text
    inputs = _section(page, "application-features")
    for machine in ("pay margin mean 12m", "instalment to avg invoice", "thin file", "max dpd"):
        assert machine not in page
    # The application's amount with its currency, the instalment ratio to one decimal.
    assert "€3,000.00" in inputs
    assert re.search(r"<td>\d+\.\d ×</td>", inputs)
    history = _section(page, "payment-history")
    assert "Longest delay, past 3 months" in history
    assert '<div lang="et" class="muted">Suurim hilinemine, viimased 3 kuud</div>' in history
    # The meaning and the risk direction are a hover away.
    meaning = "Most days past due of any invoice overdue during the past 91 days."
    assert f'title="{meaning} (higher is riskier)"' in history
    waterfall = _section(page, "waterfall")
    # By factor, as the reasons group them (this customer is a thin file: the history's
    # inputs all measure its absence).
    assert "Credit bureau rating" in waterfall and "Length of payment history" in waterfall
    assert "max_dpd" not in waterfall and "bureau_score" not in waterfall


def test_a_reviewer_escalates_a_held_case_to_a_senior_with_a_note(client, case_id, ui_engine):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    assert 'data-testid="escalate"' in page
    refused = client.post(
        f"/review/cases/{case_id}/escalate", data={"csrf_token": csrf_of(page), "note": "  "}
    )
    assert refused.status_code == 422
    assert "escalation needs a note" in refused.text
    assert _status(ui_engine, case_id) == "claimed"
    answer = client.post(
        f"/review/cases/{case_id}/escalate", data={"csrf_token": csrf_of(page), "note": NOTE}
    )
    assert answer.status_code == 303
    assert "/review/queue" in answer.headers["location"]
    assert _status(ui_engine, case_id) == "open"
    assert case_id[:8] not in client.get("/review/queue").text
    own_page = client.get(f"/review/cases/{case_id}").text
    assert NOTE in _section(own_page, "escalation-note")
    assert "Claim this case" not in own_page
    trail = client.get(f"/review/cases/{case_id}/audit").text
    assert "escalated" in trail and NOTE in trail and "user:rita" in trail

    client.cookies.clear()
    sign_in(client, "sven")
    queue = client.get("/review/queue").text
    assert case_id[:8] in queue and 'data-testid="escalated"' in queue
    senior_page = _claim(client, case_id)
    assert "By rita" in _section(senior_page, "escalation-note")
    assert 'name="outcome"' in senior_page


def test_another_reviewer_cannot_claim_an_escalated_case(client, case_id, ui_engine):
    sign_in(client, "rita")
    page = _claim(client, case_id)
    client.post(
        f"/review/cases/{case_id}/escalate", data={"csrf_token": csrf_of(page), "note": NOTE}
    )
    answer = client.post(f"/review/cases/{case_id}/claim", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 403
    assert "another senior reviewer must take it" in answer.text
    assert _status(ui_engine, case_id) == "open"


def test_an_unknown_case_gets_a_generic_404_that_echoes_nothing(client):
    sign_in(client, "rita")
    probe = "no-such-case-%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    for path in (f"/review/cases/{probe}", f"/review/cases/{probe}/audit"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "There is no such case" in answer.text
        assert "no-such-case" not in answer.text and "alert(1)" not in answer.text
    # An address no page answers gets the same kind of page, not the path back.
    other = client.get("/review/cases/no-such-case-<script>alert(1)</script>")
    assert other.status_code == 404
    assert "There is no such page" in other.text
    assert "no-such-case" not in other.text and "alert(1)" not in other.text


def test_the_queue_shows_triage_columns_and_sorts_and_filters(client, ui_engine, clock, accounts):
    with UnitOfWork.for_engine(ui_engine) as uow:
        small = contested_case(uow, now=clock(), amount_eur=900.0, received_days_ago=2)
        large = contested_case(uow, now=clock(), amount_eur=9000.0, received_days_ago=10)
    sign_in(client, "rita")
    page = client.get("/review/queue").text
    assert "<th>Amount</th><th>Product</th><th>Outcome</th><th>Top reason</th>" in page
    assert "9 000.00 EUR" in page and ">900.00 EUR" in page and "R02_LATE_PAYMENT_HISTORY" in page
    # Deadline first: the older case is due sooner.
    assert page.index(large[:8]) < page.index(small[:8])
    by_amount = client.get("/review/queue", params={"sort": "amount"}).text
    assert by_amount.index(large[:8]) < by_amount.index(small[:8])
    by_received = client.get("/review/queue", params={"sort": "received"}).text
    assert by_received.index(large[:8]) < by_received.index(small[:8])
    none = client.get("/review/queue", params={"product": "phone"}).text
    assert small[:8] not in none and "0 of 2 cases" in none
    declines = client.get("/review/queue", params={"outcome": "decline"}).text
    assert small[:8] in declines and large[:8] in declines
    refused = client.get("/review/queue", params={"sort": "colour"})
    assert refused.status_code == 422 and "sort must be one of due, amount, received" in (
        refused.text
    )


class _Registry:
    """A model registry holding the tags of the versions it is given."""

    def __init__(self, tags: dict[str, dict[str, str]]) -> None:
        self.tags = tags

    def version_tags(self, version_or_alias, *, settings=None) -> dict[str, str]:
        if str(version_or_alias) not in self.tags:
            raise LookupError(f"no version {version_or_alias}")
        return self.tags[str(version_or_alias)]

    def card_data(self, version_or_alias, *, settings=None) -> dict | None:
        return None  # versions of this registry were trained before cards carried tables


EVALUATED = {
    "schema": 1,
    "evaluation_rows": 1000,
    "overall": {"auc": 0.79, "ece": 0.01, "default_rate": 0.07, "mean_pd": 0.07},
    "calibration": [
        {
            "bin": 0,
            "count": 500,
            "mean_pd": 0.03,
            "observed": 0.03,
            "pd_low": 0.001,
            "pd_high": 0.1,
        },
        {"bin": 1, "count": 500, "mean_pd": 0.18, "observed": 0.2, "pd_low": 0.101, "pd_high": 0.6},
    ],
    "segments": {
        "thin_file": [
            {"segment": 0, "count": 880, "default_rate": 0.06, "mean_pd": 0.06, "auc": 0.80},
            {"segment": 1, "count": 200, "default_rate": 0.16, "mean_pd": 0.09, "auc": 0.66},
        ],
    },
}


@pytest.fixture
def registry_client(ui_db_url, clock, accounts):
    """The UI with a registry whose version 3 (the seeded decisions') kept its tables."""
    import json

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from review_ui.app import create_review_app
    from scoring.storage.db import create_engine_for, session_factory

    sessions = session_factory(create_engine_for(ui_db_url))
    registry = _Registry({"3": {"kind": "lightgbm", "known_limits": json.dumps(EVALUATED)},
                          "2": {"kind": "lightgbm"}})  # fmt: skip
    outer = FastAPI()
    outer.mount(
        "/review",
        create_review_app(
            unit_of_work=lambda: UnitOfWork(sessions), clock=clock, registry=registry
        ),
    )
    with TestClient(outer, base_url="http://localhost", follow_redirects=False) as test_client:
        yield test_client


def test_the_pd_interval_and_known_limits_come_from_the_serving_version_s_evaluation(
    registry_client, case_id
):
    sign_in(registry_client, "rita")
    page = registry_client.get(f"/review/cases/{case_id}").text
    section = _section(page, "probability-of-default")
    # PD 17.1 % falls in the second bin: 100 of 500 defaulted, Wilson 95 % 16.7 % to 23.7 %.
    assert "95 % interval 16.7 % – 23.7 %" in section
    assert 'data-testid="pd-interval-band"' in section
    assert "the 500 applications scored nearest to this one (between 10.10 % and 60.00 %" in (
        section
    )
    assert "from the evaluation of model version 3" in section
    limits = section.split('data-testid="known-limits"', 1)[1].split("</ul>", 1)[0]
    assert "Thin file (no payment history with us)" in limits
    assert "AUC 0.66 against 0.79 overall" in limits
    assert "under-estimates their risk: mean predicted PD 9.0% against 16.0% observed" in limits
    assert "None known" not in section
    assert 'href="http://localhost/review/models/3/card"' in section
    card = registry_client.get("/review/models/3/card")
    assert card.status_code == 200 and "Model card: installment-pd version 3" in card.text
    assert registry_client.get("/review/models/9/card").status_code == 404


def test_a_version_without_stored_tables_says_its_limits_are_unknown(
    registry_client, case_id, ui_engine
):
    from sqlalchemy import update

    from scoring.storage.tables import Decision

    with UnitOfWork.for_engine(ui_engine) as uow:
        decision_id = case_row(uow, case_id).decision_id
        uow.session.execute(
            update(Decision).where(Decision.id == decision_id).values(model_version="2")
        )
    sign_in(registry_client, "rita")
    section = _section(
        registry_client.get(f"/review/cases/{case_id}").text, "probability-of-default"
    )
    assert "trained before its evaluation tables were kept" in section
    assert "95 % interval" not in section
    # What the customer's data alone shows is still said.
    assert "Thin file: the company holds no payment history" in section
