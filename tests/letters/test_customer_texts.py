"""Every customer text, for every outcome path, in both languages: golden files, and a check
that none names an API path or quotes the reviewer's internal justification.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended wording change (then read
every one of them).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from scoring.domain.bureau import RISK_CLASSES
from scoring.domain.contact import DEMO_CHANNELS, ContactChannelError, ContactChannels
from scoring.domain.counterfactual import (
    Action,
    Counterfactual,
    PurchaseTerms,
    _texts,
    why_no_counterfactual,
)
from scoring.domain.decision import ApplicationFacts
from scoring.domain.reasons import (
    FACTORS,
    POLICY_REASONS,
    ReasonFacts,
    model_reasons,
    policy_reason,
)
from scoring.letters import (
    AutomationNotice,
    BureauConsulted,
    DecisionLetter,
    render_decision_letter,
    render_notice,
)
from scoring.letters.review import (
    ExtensionNotice,
    ReviewOutcomeLetter,
    render_extension_notice,
    render_review_outcome_letter,
)
from scoring.service.policy_files import policy_for_version

GOLDEN = Path(__file__).parent / "golden" / "paths"
LANGUAGES = ("et", "en")
POLICY = policy_for_version("2026.11.1")
# What a reviewer writes for colleagues; no customer text may quote it, in part or whole.
JUSTIFICATION = (
    "Applicant's payslips (Nov) verified by phone with employer; arrears were a bank "
    "transfer error per customer, accepted."
)
EXPLANATION_ET = (
    "Teie esitatud palgatõendi järgi on teie sissetulek piisav ka suurema kuumakse jaoks."
)
EXPLANATION_EN = "The payslip you sent shows that your income also covers a larger instalment."

FACTS = ReasonFacts(
    has_history=True, tenure_months=30, invoices_24m=24, invoices_due_12m=12, late_12m=3,
    late_24m=4, max_dpd_6m=23, max_dpd_12m=41, max_dpd_24m=41, current_dpd=33,
    overdue_balance_eur=69.93, reminders_12m=2, collections_24m=1, settled_due_12m=12,
    pay_margin_mean_12m=1.5, partial_paid_due_12m=3, avg_invoice_eur_12m=48.0,
    bureau_class="satisfactory", bureau_score=612, bureau_open_defaults=1,
    bureau_closed_defaults=1, amount_eur=2400.0, term_months=12, product_category="heat_pump",
)  # fmt: skip
THIN = replace(
    FACTS, has_history=False, tenure_months=0, invoices_24m=0, invoices_due_12m=0, late_12m=0,
    late_24m=0, max_dpd_6m=0, max_dpd_12m=0, max_dpd_24m=0, current_dpd=0,
    overdue_balance_eur=0.0, reminders_12m=0, collections_24m=0, settled_due_12m=0,
    pay_margin_mean_12m=None, partial_paid_due_12m=0, avg_invoice_eur_12m=None,
)  # fmt: skip
BUREAU = BureauConsulted(
    name="Creditinfo Eesti AS",
    report_id="BR-2026-000123",
    requested_on=date(2026, 11, 22),
    risk_class="satisfactory",
    class_label_et=RISK_CLASSES["satisfactory"].label_et,
    class_label_en=RISK_CLASSES["satisfactory"].label_en,
    class_text_et=RISK_CLASSES["satisfactory"].meaning_et,
    class_text_en=RISK_CLASSES["satisfactory"].meaning_en,
)


def _model_reasons(facts: ReasonFacts) -> list:  # type: ignore[type-arg]
    return model_reasons(
        {"max_dpd_3m": 0.8, "late_payments_12m": 0.5, "amount_eur": 0.3},
        {"max_dpd_3m": 23.0, "late_payments_12m": 3.0, "amount_eur": facts.amount_eur},
        facts,
    )


MODEL_REASONS = _model_reasons(FACTS)
GOOD_BUREAU = replace(
    BUREAU, risk_class="good", class_label_et="hea", class_label_en="good",
    class_text_et=RISK_CLASSES["good"].meaning_et, class_text_en=RISK_CLASSES["good"].meaning_en,
)  # fmt: skip
TERM_CHANGE = Counterfactual(
    "term", PurchaseTerms(2400.0, 36, 0.04), (), *_texts(
        ApplicationFacts(2400.0, 12, "heat_pump", 40, False),
        PurchaseTerms(2400.0, 36, 0.04), "term", frozenset(), FACTS,
    ),
)  # fmt: skip


def _why(amount: float, codes: list[str]) -> dict[str, str | None]:
    texts = why_no_counterfactual(
        outcome="decline", rule_codes=codes, product_category="heat_pump",
        probability_of_default=0.31, policy=POLICY, amount_eur=amount,
    )  # fmt: skip
    assert texts is not None
    return {"no_counterfactual_et": texts[0], "no_counterfactual_en": texts[1]}


def _letter(**overrides: object) -> DecisionLetter:
    values: dict[str, object] = dict(
        decision_id="6f1c2e4a-0000-4000-8000-000000000001",
        decided_on=date(2026, 11, 22),
        outcome="decline",
        automated=True,
        amount_eur=2400.0,
        term_months=12,
        product_category="heat_pump",
        reasons=MODEL_REASONS,
        bureau=BUREAU,
        counterfactual=TERM_CHANGE,
        contest_until=date(2027, 2, 20),
        contact=DEMO_CHANNELS,
    )
    values.update(overrides)
    return DecisionLetter(**values)  # type: ignore[arg-type]


def _pending(route: str | None, **overrides: object) -> DecisionLetter:
    values: dict[str, object] = dict(
        outcome="pending_review" if route and route != "S01_BUREAU_UNAVAILABLE" else "refer",
        automated=False,
        review_id="b3c1d9e0-0000-4000-8000-000000000002",
        review_due_on=date(2026, 12, 22),
        statement_open=True,
        route=route,
        reasons=[policy_reason(route)] if route else [policy_reason("P06_RISK_IN_REVIEW_BAND")],
    )
    values.update(overrides)
    return _letter(**values)


DECISION_LETTERS = {
    "decline_model": _letter(),
    "decline_model_nothing_helps": _letter(
        amount_eur=6000.0,
        reasons=_model_reasons(replace(FACTS, amount_eur=6000.0)),
        counterfactual=None,
        **_why(6000.0, []),
    ),
    # A 3,500 EUR heat pump: below the product's smallest amount (4,000 EUR).
    "decline_below_product_minimum": _letter(
        amount_eur=3500.0,
        reasons=_model_reasons(replace(FACTS, amount_eur=3500.0)),
        counterfactual=None,
        **_why(3500.0, []),
    ),
    "decline_arrears": _letter(
        reasons=[policy_reason("P02_INTERNAL_ARREARS", days=60)],
        counterfactual=None,
        **_why(2400.0, ["P02_INTERNAL_ARREARS"]),
    ),
    "decline_bureau_default": _letter(
        reasons=[policy_reason("P01_BUREAU_OPEN_DEFAULT")],
        counterfactual=Counterfactual(
            "none",
            PurchaseTerms(2400.0, 12, 0.05),
            (),
            *_texts(
                ApplicationFacts(2400.0, 12, "heat_pump", 40, False),
                PurchaseTerms(2400.0, 12, 0.05),
                "none",
                frozenset({Action.SETTLE_BUREAU_DEFAULT}),
                FACTS,
            ),
            actions=("settle_bureau_default",),
        ),
    ),  # fmt: skip
    "decline_thin_file": _letter(
        reasons=model_reasons(
            {"tenure_months": 0.6, "bureau_class_rank": 0.4}, {"tenure_months": 0.0}, THIN
        ),
        counterfactual=None,
        **_why(2400.0, []),
    ),
    # A 3,500 EUR heat-pump refer: nothing decided, so nothing about what would have changed it,
    # even with a counterfactual or a why-not text at hand.
    "refer_review_band": _pending(
        None,
        amount_eur=3500.0,
        bureau=GOOD_BUREAU,
        counterfactual=TERM_CHANGE,
        **_why(3500.0, []),
    ),  # fmt: skip
    "refer_bureau_unavailable": _pending("S01_BUREAU_UNAVAILABLE", bureau=None),
    "pending_person_requested": _pending("S02_HUMAN_REVIEW_REQUESTED"),
    "pending_profiling_objection": _pending("S03_PROFILING_OBJECTION"),
    "pending_automation_paused": _pending("S04_AUTOMATION_PAUSED", statement_open=False),
}


def _outcome(**overrides: object) -> ReviewOutcomeLetter:
    values: dict[str, object] = dict(
        review_id="b3c1d9e0-0000-4000-8000-000000000002",
        decision_id="6f1c2e4a-0000-4000-8000-000000000001",
        resulting_decision_id="9a8b7c6d-0000-4000-8000-000000000003",
        received_on=date(2027, 1, 31),
        resolved_on=date(2027, 2, 12),
        original_outcome="decline",
        outcome="upheld",
        amount_eur=2400.0,
        term_months=12,
        product_category="heat_pump",
        new_amount_eur=None,
        new_term_months=None,
        explanation_et=EXPLANATION_ET,
        explanation_en=EXPLANATION_EN,
        second_signature=False,
        contact=DEMO_CHANNELS,
    )
    values.update(overrides)
    return ReviewOutcomeLetter(**values)  # type: ignore[arg-type]


# Other terms come with their own explanation: a smaller amount over a longer term.
OTHER_TERMS = {
    "new_amount_eur": 1800.0,
    "new_term_months": 24,
    "explanation_et": "Teie sissetuleku juures on jõukohane väiksem kuumakse, seepärast "
    "pakume väiksemat summat pikema perioodiga.",
    "explanation_en": "Your income covers a smaller monthly instalment, so we offer a smaller "
    "amount over a longer term.",
}
REVIEW_LETTERS = {
    "contest_upheld": _outcome(),
    "contest_upheld_approval": _outcome(
        original_outcome="approve", explanation_et=None, explanation_en=None
    ),
    "contest_overturned": _outcome(outcome="overturned", explanation_et=None, explanation_en=None),
    "contest_terms_changed": _outcome(
        outcome="terms_changed", second_signature=True, **OTHER_TERMS
    ),
    "referral_approved": _outcome(
        kind="referral",
        original_outcome="refer",
        outcome="approved",
        statement_given=False,
        explanation_et=None,
        explanation_en=None,
    ),  # fmt: skip
    "referral_declined": _outcome(kind="referral", original_outcome="refer", outcome="declined"),
    "referral_terms_changed": _outcome(
        kind="referral", original_outcome="refer", outcome="terms_changed", **OTHER_TERMS
    ),
    "person_requested_declined": _outcome(
        kind="human_review_requested", original_outcome="pending_review", outcome="declined"
    ),
    "person_requested_approved": _outcome(
        kind="human_review_requested",
        original_outcome="pending_review",
        outcome="approved",
        explanation_et=None,
        explanation_en=None,
    ),  # fmt: skip
    "person_requested_terms_changed": _outcome(
        kind="human_review_requested",
        original_outcome="pending_review",
        outcome="terms_changed",
        **OTHER_TERMS,
    ),  # fmt: skip
    "objection_approved": _outcome(
        kind="objection",
        original_outcome="pending_review",
        outcome="approved",
        explanation_et=None,
        explanation_en=None,
    ),  # fmt: skip
    # Resolved before explanations were written apart: the letter quotes nothing.
    "referral_declined_without_explanation": _outcome(
        kind="referral",
        original_outcome="refer",
        outcome="declined",
        explanation_et=None,
        explanation_en=None,
    ),  # fmt: skip
}


def _notice(mode: str, **overrides: object) -> AutomationNotice:
    values: dict[str, object] = dict(
        mode=mode, bureau_name="Creditinfo Eesti AS", bureau_answered=True, contest_until=None,
        decision_id="6f1c2e4a-0000-4000-8000-000000000001", review_id=None, contact=DEMO_CHANNELS,
    )  # fmt: skip
    values.update(overrides)
    return AutomationNotice(**values)  # type: ignore[arg-type]


NOTICES = {
    "automated_contestable": _notice("automated", contest_until=date(2027, 2, 20)),
    "automated_approval_past_contest": _notice("automated"),
    "referred_bureau_silent": _notice(
        "referred", bureau_answered=False, review_id="b3c1d9e0-0000-4000-8000-000000000002"
    ),
    "person_routed": _notice("person_routed", review_id="b3c1d9e0-0000-4000-8000-000000000002"),
    "person": _notice("person"),
}
EXTENSION = ExtensionNotice(
    review_id="b3c1d9e0-0000-4000-8000-000000000002",
    decision_id="6f1c2e4a-0000-4000-8000-000000000001",
    received_on=date(2027, 1, 31),
    original_due_on=date(2027, 3, 1),
    extended_due_on=date(2027, 4, 30),
    reason="We are waiting for the credit bureau to correct an entry you disputed.",
)


def _rendered() -> dict[str, str]:
    texts = {}
    for lang in LANGUAGES:
        for name, letter in DECISION_LETTERS.items():
            texts[f"decision_{name}_{lang}"] = render_decision_letter(letter, language=lang)
        for name, outcome in REVIEW_LETTERS.items():
            texts[f"review_{name}_{lang}"] = render_review_outcome_letter(outcome, language=lang)
        for name, notice in NOTICES.items():
            texts[f"notice_{name}_{lang}"] = render_notice(notice, language=lang) + "\n"
    return texts


RENDERED = _rendered()


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_each_outcome_path_s_letter_matches_its_golden_file(name: str) -> None:
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(RENDERED[name])
    assert RENDERED[name] == golden.read_text()


def _every_reason_and_counterfactual_text() -> list[str]:
    texts = []
    for facts in (FACTS, THIN, replace(FACTS, late_12m=0, late_24m=1, max_dpd_24m=23)):
        for factor in FACTORS:
            for rule in factor.rules:
                if rule.holds(facts):
                    texts.extend(rule.texts(facts))
    for code in POLICY_REASONS:
        reason = policy_reason(code, days=60, age=18, limit=10000)
        texts += [reason.text_et, reason.text_en]
    application = ApplicationFacts(2400.0, 12, "heat_pump", 40, False)
    terms = PurchaseTerms(1800.0, 24, 0.04)
    for change in ("none", "term", "amount", "amount_and_term"):
        for actions in (frozenset(), frozenset(Action)):
            texts.extend(_texts(application, terms, change, actions, FACTS))
    for codes in ([], ["P01_BUREAU_OPEN_DEFAULT"], ["P02_INTERNAL_ARREARS"],
                  ["P03_UNDER_MINIMUM_AGE"], ["P05_UNKNOWN_PRODUCT"]):  # fmt: skip
        for amount in (3500.0, 6000.0):
            texts.extend(_why(amount, codes).values())  # type: ignore[arg-type]
    return [t for t in texts if t]


def test_no_customer_text_names_an_api_path_or_quotes_the_internal_justification() -> None:
    texts = {
        **RENDERED,
        "extension_et": render_extension_notice(EXTENSION, language="et"),
        "extension_en": render_extension_notice(EXTENSION, language="en"),
        **{f"text_{i}": t for i, t in enumerate(_every_reason_and_counterfactual_text())},
    }
    assert len(texts) > 100
    # Any run of eight words of the justification would be a quotation.
    words = JUSTIFICATION.split()
    pieces = [" ".join(words[i : i + 8]) for i in range(len(words) - 7)]
    for name, text in texts.items():
        assert "/v1/" not in text, name
        assert "http" not in text or DEMO_CHANNELS.web in text, name
        assert not any(piece in text for piece in pieces), name


def test_the_estonian_letter_quotes_the_estonian_explanation_and_never_the_english_one() -> None:
    for name, outcome in REVIEW_LETTERS.items():
        et = render_review_outcome_letter(outcome, language="et")
        en = render_review_outcome_letter(outcome, language="en")
        if outcome.explanation_et and outcome.explanation_en:
            assert outcome.explanation_et in et and outcome.explanation_en in en, name
            assert outcome.explanation_en not in et and outcome.explanation_et not in en, name
        assert EXPLANATION_EN not in et and EXPLANATION_ET not in en, name


def test_every_letter_names_the_configured_channels_to_reach_a_person() -> None:
    channels = ContactChannels(
        web="https://laen.example.ee/vaidlustus", email="abi@laen.example.ee",
        postal_address="Laen AS, Tartu mnt 2, 10145 Tallinn", phone="+372 611 1111",
    )  # fmt: skip
    for lang in LANGUAGES:
        decline = render_decision_letter(replace(_letter(), contact=channels), language=lang)
        outcome = render_review_outcome_letter(replace(_outcome(), contact=channels), language=lang)
        notice = render_notice(
            _notice("automated", contest_until=date(2027, 2, 20), contact=channels), language=lang
        )
        for text in (decline, outcome):
            for value in (channels.web, channels.email, channels.postal_address, channels.phone):
                assert value in text
        assert channels.web in notice and channels.phone in notice


def test_a_refer_letter_says_nothing_of_what_would_have_changed_the_outcome() -> None:
    for name in ("refer_review_band", "refer_bureau_unavailable", "pending_person_requested"):
        assert "What would have changed" not in RENDERED[f"decision_{name}_en"]
        assert "Mis oleks otsust muutnud" not in RENDERED[f"decision_{name}_et"]


def test_below_the_product_minimum_the_why_not_text_speaks_of_the_term_only() -> None:
    text = RENDERED["decision_decline_below_product_minimum_en"]
    assert "for the amount applied for over any term (3 to 60 months)" in text
    assert "We do not suggest a smaller amount: for this product we suggest instalment plans" in (
        text
    )
    assert "No amount from" not in text and "from €4,000.00 up to" not in text
    et = RENDERED["decision_decline_below_product_minimum_et"]
    assert "Väiksemat summat me ei soovita" in et and "4\xa0000,00\xa0€" in et


def test_the_bureau_class_is_named_once_with_its_meaning() -> None:
    et = RENDERED["decision_refer_review_band_et"]
    assert "klassi „hea“: büroo hinnangul on tõenäosus, et teil tekib" in et
    assert "„hea“: Hea" not in et


@pytest.mark.parametrize(
    ("field", "value"),
    [("web", "/v1/decisions/x/contest"), ("web", "https://api.example/v1/contest"),
     ("email", "not an address"), ("phone", "call us"), ("postal_address", " ")],
)  # fmt: skip
def test_a_contact_channel_customers_cannot_use_is_refused_naming_the_setting(field, value):
    with pytest.raises(ContactChannelError, match="INSTALLMENT_CONTACT_"):
        replace(DEMO_CHANNELS, **{field: value})


def test_contact_channels_come_from_the_environment() -> None:
    from scoring.config import contact_channels

    channels = contact_channels({"INSTALLMENT_CONTACT_PHONE": "+372 699 9999"})
    assert channels.phone == "+372 699 9999" and channels.web == DEMO_CHANNELS.web
    with pytest.raises(ContactChannelError, match="INSTALLMENT_CONTACT_WEB"):
        contact_channels({"INSTALLMENT_CONTACT_WEB": "/v1/decisions"})
