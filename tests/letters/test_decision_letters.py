"""Decline and refer letters: what they must say (R5, R11), checked against golden files.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended wording change.
"""

import os
from datetime import date
from pathlib import Path

import pytest

from scoring.domain.counterfactual import Counterfactual, PurchaseTerms
from scoring.domain.reasons import model_reasons, policy_reason
from scoring.letters import BureauConsulted, DecisionLetter, render_decision_letter

GOLDEN = Path(__file__).parent / "golden"


def declined_letter(**overrides) -> DecisionLetter:
    values = dict(
        decision_id="6f1c2e4a-0000-4000-8000-000000000001",
        decided_on=date(2026, 11, 22),
        outcome="decline",
        automated=True,
        amount_eur=2400.0,
        term_months=12,
        product_category="heat_pump",
        reasons=model_reasons({"max_dpd_3m": 0.8, "bureau_score": 0.5, "amount_eur": 0.2}),
        bureau=BureauConsulted(
            name="Creditinfo Eesti AS",
            report_id="BR-2026-000123",
            requested_on=date(2026, 11, 22),
            risk_class="satisfactory",
            class_label_et="rahuldav",
            class_label_en="satisfactory",
            class_text_et="makseraskuste tõenäosus järgmise 12 kuu jooksul on 6-14,9%.",
            class_text_en="a 6-14.9% probability of payment default in the next 12 months.",
        ),
        counterfactual=Counterfactual(
            change="term",
            suggested=PurchaseTerms(2400.0, 36, 0.041),
            alternatives=(),
            text_et="Taotlus oleks heaks kiidetud 36-kuulise perioodiga.",
            text_en="The application would have been approved with a term of 36 months.",
        ),
        contest_until=date(2027, 2, 20),
        contest_url="https://example.invalid/contest",
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
    assert '"satisfactory"' in text
    assert "made by automated means" in text
    assert "Recent invoices from us were paid late" in text
    assert "term of 36 months" in text
    assert "contest this decision" in text and "2027-02-20" in text


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
        statement_url="https://engine.example/v1/reviews/case-1/statement",
        route="S01_BUREAU_UNAVAILABLE",
    )
    text = render_decision_letter(letter, language=language)
    assert "2027-01-07" in text and "case-1" in text
    assert "https://engine.example/v1/reviews/case-1/statement" in text
    assert "/contest" not in text
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
        ("P06_RISK_IN_REVIEW_BAND", "could not settle your application either way"),
    ],
)
def test_a_letter_for_a_person_to_decide_says_why(route, said):
    letter = declined_letter(
        outcome="pending_review" if route.startswith("S") else "refer",
        automated=False,
        review_id="case-2",
        review_due_on=date(2027, 1, 7),
        statement_url="https://engine.example/v1/reviews/case-2/statement",
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
