"""Decline and refer letters: what they must say (R5, R11), checked against golden files.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended wording change.
"""

import os
from datetime import date
from pathlib import Path

import pytest

from scoring.domain.bureau import RISK_CLASSES
from scoring.domain.contact import DEMO_CHANNELS
from scoring.domain.counterfactual import Counterfactual, PurchaseTerms
from scoring.domain.reasons import ReasonFacts, model_reasons, policy_reason
from scoring.letters import BureauConsulted, DecisionLetter, render_decision_letter

GOLDEN = Path(__file__).parent / "golden"

# What the customer's inputs showed: a late invoice, a middling bureau class, small bills.
SEEN = ReasonFacts(
    has_history=True, tenure_months=30, invoices_24m=24, invoices_due_12m=12, late_12m=1,
    late_24m=1, max_dpd_6m=23, max_dpd_12m=23, max_dpd_24m=23, current_dpd=0,
    overdue_balance_eur=0.0, reminders_12m=1, collections_24m=0, settled_due_12m=12,
    pay_margin_mean_12m=2.0, partial_paid_due_12m=0, avg_invoice_eur_12m=47.1,
    bureau_class="satisfactory", bureau_score=612, bureau_open_defaults=0,
    bureau_closed_defaults=0, amount_eur=2400.0, term_months=12, product_category="heat_pump",
)  # fmt: skip


def declined_letter(**overrides) -> DecisionLetter:
    values = dict(
        decision_id="6f1c2e4a-0000-4000-8000-000000000001",
        decided_on=date(2026, 11, 22),
        outcome="decline",
        automated=True,
        amount_eur=2400.0,
        term_months=12,
        product_category="heat_pump",
        reasons=model_reasons(
            {"max_dpd_3m": 0.8, "bureau_score": 0.5, "amount_eur": 0.2},
            {"max_dpd_3m": 23.0, "bureau_score": 612.0, "amount_eur": 2400.0},
            SEEN,
        ),
        bureau=BureauConsulted(
            name="Creditinfo Eesti AS",
            report_id="BR-2026-000123",
            requested_on=date(2026, 11, 22),
            risk_class="satisfactory",
            class_label_et="rahuldav",
            class_label_en="satisfactory",
            class_text_et=RISK_CLASSES["satisfactory"].meaning_et,
            class_text_en=RISK_CLASSES["satisfactory"].meaning_en,
        ),
        counterfactual=Counterfactual(
            change="term",
            suggested=PurchaseTerms(2400.0, 36, 0.041),
            alternatives=(),
            text_et="Taotlus oleks heaks kiidetud 36-kuulise perioodiga.",
            text_en="The application would have been approved with a term of 36 months.",
        ),
        contest_until=date(2027, 2, 20),
        contact=DEMO_CHANNELS,
    )
    values.update(overrides)
    return DecisionLetter(**values)


@pytest.mark.parametrize("language", ["et", "en"])
def test_a_decline_letter_matches_its_golden_file(language):
    text = render_decision_letter(declined_letter(), language=language)
    golden = GOLDEN / f"decline_{language}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_a_decline_letter_names_the_bureau_its_class_automation_reasons_and_rights():
    text = render_decision_letter(declined_letter(), language="en")
    assert "Creditinfo Eesti AS" in text and "BR-2026-000123" in text
    assert "class “satisfactory” (3 of 4" in text
    assert "made by automated means" in text
    assert "an invoice from us was paid as late as 23 days after its due date" in text
    assert "term of 36 months" in text
    assert "contest this decision" in text and "Until 20 February 2027" in text


def test_a_rule_decline_names_the_rule():
    letter = declined_letter(
        reasons=[policy_reason("P01_BUREAU_OPEN_DEFAULT")], counterfactual=None
    )
    text = render_decision_letter(letter, language="et")
    assert "lõpetamata maksehäire" in text
    assert "Mis oleks otsust muutnud" not in text


@pytest.mark.parametrize("language", ["et", "en"])
def test_a_refer_letter_without_bureau_promises_who_decides_and_by_when(language):
    letter = declined_letter(
        outcome="refer",
        automated=False,
        reasons=[policy_reason("S01_BUREAU_UNAVAILABLE")],
        bureau=None,
        counterfactual=None,
        review_id="case-1",
        review_due_on=date(2027, 1, 7),
        statement_open=True,
        route="S01_BUREAU_UNAVAILABLE",
    )
    text = render_decision_letter(letter, language=language)
    due = {"et": "07.01.2027", "en": "7 January 2027"}[language]
    assert due in text and "case-1" in text
    assert DEMO_CHANNELS.web in text and DEMO_CHANNELS.email in text
    assert "/v1/" not in text
    if language == "en":
        assert "The credit bureau did not answer when you applied" in text
        assert "Nothing has been decided yet" in text
        assert "may approve it, decline it, or offer an instalment plan on other terms" in text
        assert "credit bureau we consulted" not in text
        assert "made by automated means" not in text
    else:
        assert "Krediidibüroo ei vastanud" in text
        assert "Otsust ei ole veel tehtud" in text


@pytest.mark.parametrize(
    ("route", "said"),
    [
        ("S02_HUMAN_REVIEW_REQUESTED", "As you asked, your application will be decided by"),
        ("S03_PROFILING_OBJECTION", "Because you objected to profiling"),
        ("S04_AUTOMATION_PAUSED", "Automated decisions are paused"),
        ("P06_RISK_IN_REVIEW_BAND", "could neither approve nor decline your application"),
    ],
)
def test_a_letter_for_a_person_to_decide_says_why(route, said):
    letter = declined_letter(
        outcome="pending_review" if route.startswith("S") else "refer",
        automated=False,
        review_id="case-2",
        review_due_on=date(2027, 1, 7),
        statement_open=True,
        route=route if route.startswith("S") else None,
    )
    assert said in render_decision_letter(letter, language="en")


def test_a_refer_letter_needs_its_open_case():
    with pytest.raises(ValueError, match="needs the open review case"):
        render_decision_letter(declined_letter(outcome="refer", automated=False), language="en")


def test_there_is_no_letter_for_an_approval():
    with pytest.raises(ValueError, match="decline, refer or pending_review"):
        render_decision_letter(declined_letter(outcome="approve"), language="en")


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="not 'de'"):
        render_decision_letter(declined_letter(), language="de")


def test_amounts_and_dates_are_in_each_language_s_form():
    et = render_decision_letter(declined_letter(), language="et")
    en = render_decision_letter(declined_letter(), language="en")
    assert "taotletud summa 2\xa0400,00\xa0€, periood 12 kuud" in et
    assert "Kuupäev: 22.11.2026" in et
    assert "Kuni 20.02.2027" in et and "BR-2026-000123, 22.11.2026" in et
    assert "amount applied for €2,400.00, term 12 months" in en
    assert "Date: 22 November 2026" in en
    for text in (et, en):
        assert "2400.00" not in text and "2026-11-22" not in text and "2027-02-20" not in text


@pytest.mark.parametrize("language", ["et", "en"])
def test_an_arrears_decline_with_nothing_to_change_says_why_and_matches_its_golden_file(
    language,
):
    from scoring.domain.counterfactual import why_no_counterfactual
    from scoring.service.policy_files import policy_for_version

    why_et, why_en = why_no_counterfactual(
        outcome="decline", rule_codes=["P02_INTERNAL_ARREARS"], product_category="heat_pump",
        probability_of_default=0.31, policy=policy_for_version("2026.11.1"),
    )  # fmt: skip
    letter = declined_letter(
        reasons=[policy_reason("P02_INTERNAL_ARREARS", days=60)],
        counterfactual=None,
        no_counterfactual_et=why_et,
        no_counterfactual_en=why_en,
    )
    text = render_decision_letter(letter, language=language)
    golden = GOLDEN / f"decline_arrears_{language}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    assert (why_et if language == "et" else why_en) in text
