"""Review outcome letters and extension notices in Estonian and English, against golden files.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended wording change.
"""

import os
from datetime import date
from pathlib import Path

import pytest

from scoring.domain.contact import DEMO_CHANNELS
from scoring.letters.review import (
    ExtensionNotice,
    ReviewOutcomeLetter,
    render_extension_notice,
    render_review_outcome_letter,
)

GOLDEN = Path(__file__).parent / "golden"


def outcome_letter(**overrides) -> ReviewOutcomeLetter:
    values = dict(
        review_id="b3c1d9e0-0000-4000-8000-000000000002",
        decision_id="6f1c2e4a-0000-4000-8000-000000000001",
        resulting_decision_id="9a8b7c6d-0000-4000-8000-000000000003",
        received_on=date(2027, 1, 31),
        resolved_on=date(2027, 2, 12),
        original_outcome="decline",
        outcome="overturned",
        amount_eur=2400.0,
        term_months=12,
        product_category="heat_pump",
        new_amount_eur=None,
        new_term_months=None,
        explanation_et="Teie pangaväljavõtted näitavad, et tasusite mõlemad arved maksetähtajaks.",
        explanation_en="Your bank statements show that you paid both invoices by their due dates.",
        second_signature=False,
        contact=DEMO_CHANNELS,
    )
    values.update(overrides)
    return ReviewOutcomeLetter(**values)


def notice() -> ExtensionNotice:
    return ExtensionNotice(
        review_id="b3c1d9e0-0000-4000-8000-000000000002",
        decision_id="6f1c2e4a-0000-4000-8000-000000000001",
        received_on=date(2027, 1, 31),
        original_due_on=date(2027, 3, 1),
        extended_due_on=date(2027, 4, 30),
        reason="We are waiting for the credit bureau to correct an entry you disputed.",
    )


def check_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("language", ["et", "en"])
@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("overturned", {}),
        ("upheld", {"outcome": "upheld"}),
        (
            "terms_changed",
            {
                "outcome": "terms_changed",
                "amount_eur": 9000.0,
                "new_amount_eur": 8000.0,
                "new_term_months": 48,
                "second_signature": True,
            },
        ),
    ],
)
def test_outcome_letters_match_their_golden_files(language, name, overrides):
    text = render_review_outcome_letter(outcome_letter(**overrides), language=language)
    check_golden(f"review_{name}_{language}.txt", text)


@pytest.mark.parametrize("language", ["et", "en"])
def test_extension_notices_match_their_golden_files(language):
    check_golden(f"extension_{language}.txt", render_extension_notice(notice(), language=language))


def test_an_outcome_letter_says_a_person_decided_why_and_what_is_offered():
    text = render_review_outcome_letter(
        outcome_letter(outcome="terms_changed", new_amount_eur=1800.0, new_term_months=24),
        language="en",
    )
    assert "€1,800.00 in 24 monthly instalments" in text
    assert "decided by a person, not by automated means" in text
    assert "you paid both invoices by their due dates" in text


def test_letters_refuse_unknown_outcomes_languages_and_incomplete_terms():
    with pytest.raises(ValueError, match="not 'approve'"):
        render_review_outcome_letter(outcome_letter(outcome="approve"), language="en")
    with pytest.raises(ValueError, match="not 'de'"):
        render_review_outcome_letter(outcome_letter(), language="de")
    with pytest.raises(ValueError, match="needs the new amount and term"):
        render_review_outcome_letter(outcome_letter(outcome="terms_changed"), language="et")
