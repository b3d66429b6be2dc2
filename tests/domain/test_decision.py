"""How one application is decided: routes to people, knock-outs, cut-offs and reasons."""

from pathlib import Path

import pytest
import yaml
from reason_facts import reason_facts

from scoring.domain import decision
from scoring.domain.counterfactual import (
    Action,
    amount_grid,
    find_counterfactual,
    why_no_counterfactual,
)
from scoring.domain.decision import ApplicationFacts, ModelAssessment, Outcome
from scoring.domain.policy import Policy, PolicyError
from scoring.domain.reasons import FACTORS, MAX_REASONS, model_reasons

POLICY_FILE = Path(__file__).parents[2] / "scoring" / "policies" / "policy-2026.11.1.yaml"


@pytest.fixture
def policy() -> Policy:
    return Policy.from_mapping(yaml.safe_load(POLICY_FILE.read_text()))


def facts(**overrides) -> ApplicationFacts:
    values = dict(amount_eur=1200.0, term_months=12, product_category="electronics", age_years=40)
    values.update(overrides)
    return ApplicationFacts(**values)


def assessment(pd: float, **contributions: float) -> ModelAssessment:
    return ModelAssessment(pd, -3.0, contributions or {"bureau_score": 0.1}, "installment-pd", "3")


CLEAN = {"current_dpd": 0, "bureau_open_defaults": 0}


def decide(**arguments):
    """The domain's decide, for a customer whose raw inputs are clean unless told otherwise."""
    arguments.setdefault("evidence", reason_facts(bureau_class="good"))
    return decision.decide(**arguments)


def test_low_risk_is_approved_automatically(policy):
    result = decide(application=facts(), features=CLEAN, assessment=assessment(0.01), policy=policy)
    assert result.outcome is Outcome.APPROVE
    assert result.automated and result.risk_grade == "A"


def test_high_risk_is_declined_with_the_adverse_factors_as_reasons(policy):
    result = decide(
        application=facts(),
        features=CLEAN,
        assessment=assessment(0.30, max_dpd_3m=0.9, bureau_score=0.5, tenure_months=-0.2),
        policy=policy,
        evidence=reason_facts(max_dpd_6m=23, bureau_class="satisfactory"),
    )
    assert result.outcome is Outcome.DECLINE and result.automated
    assert [r.code for r in result.reasons] == ["R01_RECENT_LATE_PAYMENTS", "R06_BUREAU_RATING"]


def test_an_adverse_factor_that_is_false_for_the_customer_gives_no_reason(policy):
    result = decide(
        application=facts(),
        features=CLEAN,
        assessment=assessment(0.30, max_dpd_3m=0.9, bureau_score=0.5),
        policy=policy,
        evidence=reason_facts(max_dpd_6m=0, bureau_class="satisfactory"),
    )
    assert [r.code for r in result.reasons] == ["R06_BUREAU_RATING"]


def test_the_middle_band_is_referred_to_a_person_and_says_so(policy):
    result = decide(application=facts(), features=CLEAN, assessment=assessment(0.10), policy=policy)
    assert result.outcome is Outcome.REFER and not result.automated
    assert result.reasons[-1].code == "P06_RISK_IN_REVIEW_BAND"


def test_no_bureau_answer_refers_and_never_declines(policy):
    result = decide(application=facts(), features=CLEAN, assessment=None, policy=policy)
    assert result.outcome is Outcome.REFER
    assert [r.code for r in result.reasons] == ["S01_BUREAU_UNAVAILABLE"]


def test_a_rule_that_needs_no_bureau_still_declines_without_it(policy):
    result = decide(application=facts(age_years=17), features=CLEAN, assessment=None, policy=policy)
    assert result.outcome is Outcome.DECLINE
    assert result.reasons[0].code == "P03_UNDER_MINIMUM_AGE"
    assert "18" in result.reasons[0].text_en


@pytest.mark.parametrize(
    ("overrides", "features", "code"),
    [
        ({"amount_eur": 4000.01}, CLEAN, "P04_AMOUNT_ABOVE_PRODUCT_LIMIT"),
        ({}, {"current_dpd": 61, "bureau_open_defaults": 0}, "P02_INTERNAL_ARREARS"),
        ({}, {"current_dpd": 0, "bureau_open_defaults": 1}, "P01_BUREAU_OPEN_DEFAULT"),
        ({"product_category": "yacht"}, CLEAN, "P05_UNKNOWN_PRODUCT"),
    ],
)
def test_knock_out_rules_decline_even_a_low_score_and_name_the_rule(
    policy, overrides, features, code
):
    result = decide(
        application=facts(**overrides),
        features=features,
        assessment=assessment(0.01),
        policy=policy,
    )
    assert result.outcome is Outcome.DECLINE
    assert result.reasons[0].code == code and result.reasons[0].kind == "policy"
    assert [hit.code for hit in result.policy_rules] == [code]


def test_sixty_days_past_due_is_still_allowed(policy):
    features = {"current_dpd": 60, "bureau_open_defaults": 0}
    result = decide(
        application=facts(), features=features, assessment=assessment(0.01), policy=policy
    )
    assert result.outcome is Outcome.APPROVE


@pytest.mark.parametrize(
    ("overrides", "switch", "code"),
    [
        ({"human_review_requested": True}, False, "S02_HUMAN_REVIEW_REQUESTED"),
        ({"objected_to_profiling": True}, False, "S03_PROFILING_OBJECTION"),
        ({}, True, "S04_AUTOMATION_PAUSED"),
    ],
)
def test_people_decide_when_asked_or_when_automation_is_paused(policy, overrides, switch, code):
    paused = Policy(**{**policy.__dict__, "all_applications_to_manual_review": switch})
    result = decide(
        application=facts(**overrides), features=CLEAN, assessment=assessment(0.01), policy=paused
    )
    assert result.outcome is Outcome.PENDING_REVIEW and not result.automated
    assert [r.code for r in result.reasons] == [code]


def test_reasons_are_at_most_four_and_only_adverse_factors():
    contributions = {f.features[0]: 0.1 * (i + 1) for i, f in enumerate(FACTORS)}
    contributions["tenure_months"] = -5.0
    everything_wrong = reason_facts(
        late_12m=3, late_24m=4, max_dpd_6m=20, max_dpd_12m=35, max_dpd_24m=35,
        reminders_12m=2, overdue_balance_eur=80.0, current_dpd=20, partial_paid_due_12m=2,
        bureau_class="poor", bureau_closed_defaults=1, amount_eur=4000.0, term_months=36,
    )  # fmt: skip
    reasons = model_reasons(contributions, {}, everything_wrong)
    assert len(reasons) == MAX_REASONS
    assert all(r.contribution > 0 for r in reasons)
    assert [r.contribution for r in reasons] == sorted(
        (r.contribution for r in reasons), reverse=True
    )


def test_contributions_of_one_factor_are_added_before_ranking():
    late = reason_facts(late_12m=2, late_24m=2, max_dpd_12m=12, max_dpd_24m=12)
    reasons = model_reasons(
        {"max_dpd_12m": 0.2, "late_payments_24m": 0.2, "bureau_score": 0.3}, {}, late
    )
    assert reasons[0].code == "R02_LATE_PAYMENT_HISTORY"
    assert reasons[0].contribution == pytest.approx(0.4)


def test_every_reason_has_estonian_and_english_text_and_a_meaning():
    for factor in FACTORS:
        for rule in factor.rules:
            assert rule.meaning_en and rule.code[:3] in {f"R{i:02d}" for i in range(1, 13)}


def test_a_policy_with_crossed_cut_offs_is_refused():
    data = yaml.safe_load(POLICY_FILE.read_text())
    data["cutoffs"] = {"approve_below": 0.2, "decline_at_or_above": 0.1}
    with pytest.raises(PolicyError, match="cut-offs"):
        Policy.from_mapping(data)


def test_a_policy_without_grades_is_refused_naming_the_entry():
    data = yaml.safe_load(POLICY_FILE.read_text())
    del data["risk_grades"]
    with pytest.raises(PolicyError, match="risk_grades"):
        Policy.from_mapping(data)


# The counterfactual, with a transparent scorer: PD grows with the monthly instalment.
def instalment_scorer(candidates, actions=frozenset()):
    return [0.02 + (amount / term) / 1000 for amount, term in candidates]


def test_a_longer_term_is_suggested_first_when_it_is_enough(policy):
    application = facts(amount_eur=1200.0, term_months=12)  # 100 EUR a month -> PD 0.12
    declined = decide(
        application=application, features=CLEAN, assessment=assessment(0.12), policy=policy
    )
    found = find_counterfactual(
        application=application, outcome=declined, policy=policy, score=instalment_scorer
    )
    assert found.change == "term" and found.actions == ()
    assert found.suggested.term_months == 36  # 33.3 EUR a month -> PD 0.053, the nearest term
    assert found.suggested.probability_of_default < policy.approve_below
    assert found.text_en == "The application would have been approved with a term of 36 months."
    assert found.text_et == "Taotlus oleks heaks kiidetud 36-kuulise perioodiga."


def test_a_lower_amount_is_suggested_when_no_term_is_enough(policy):
    def steep(candidates, actions):
        return [0.02 + amount / 10000 for amount, _ in candidates]

    application = facts(amount_eur=3000.0, term_months=24)
    declined = decide(
        application=application, features=CLEAN, assessment=assessment(0.32), policy=policy
    )
    found = find_counterfactual(
        application=application, outcome=declined, policy=policy, score=steep
    )
    assert found.change == "amount"
    assert 300 <= found.suggested.amount_eur < 400 and found.suggested.term_months == 24
    assert steep([(found.suggested.amount_eur, 24)], frozenset())[0] < policy.approve_below
    assert found.text_en.endswith(f"up to €{found.suggested.amount_eur:,.2f}.")


def test_no_amount_below_the_product_s_sensible_minimum_is_suggested(policy):
    # A heat pump is not bought for 1,200 EUR: below the policy's minimum nothing is offered.
    def only_small(candidates, actions):
        return [0.03 if amount <= 1200 else 0.3 for amount, _ in candidates]

    application = facts(amount_eur=12000.0, term_months=24, product_category="heat_pump")
    declined = decide(
        application=application, features=CLEAN, assessment=assessment(0.3), policy=policy
    )
    assert policy.product_minimum("heat_pump") == 4000
    assert (
        find_counterfactual(application=application, outcome=declined, policy=policy,
                            score=only_small)
        is None
    )  # fmt: skip


def test_paying_the_overdue_balance_is_the_step_after_an_arrears_knock_out(policy):
    seen = []

    def paid_helps(candidates, actions):
        seen.append(actions)
        return [0.04 if Action.PAY_OVERDUE_BALANCE in actions else 0.3 for _ in candidates]

    application = facts(amount_eur=1200.0, term_months=12)
    declined = decide(
        application=application, features={"current_dpd": 75, "bureau_open_defaults": 0},
        assessment=assessment(0.3), policy=policy,
        evidence=reason_facts(overdue_balance_eur=212.4, current_dpd=75, max_dpd_6m=75),
    )  # fmt: skip
    assert [hit.code for hit in declined.policy_rules] == ["P02_INTERNAL_ARREARS"]
    found = find_counterfactual(
        application=application, outcome=declined, policy=policy, score=paid_helps,
        evidence=reason_facts(overdue_balance_eur=212.4),
    )  # fmt: skip
    assert seen == [frozenset({Action.PAY_OVERDUE_BALANCE})]
    assert found.actions == ("pay_overdue_balance",) and found.change == "none"
    assert found.text_en == (
        "If you had paid the €212.40 overdue on invoices from us, the application would have "
        "been approved as it was made."
    )
    assert found.text_et == (
        "Kui oleksite tasunud meie arvete tähtajaks tasumata 212,40\xa0€, oleks taotlus heaks "
        "kiidetud nii, nagu see esitati."
    )


def test_settling_an_open_bureau_default_is_the_step_after_that_knock_out(policy):
    def settled_helps(candidates, actions):
        ok = Action.SETTLE_BUREAU_DEFAULT in actions
        return [0.02 + (amount / term) / 1000 if ok else 0.5 for amount, term in candidates]

    application = facts(amount_eur=1200.0, term_months=12)
    declined = decide(
        application=application, features={"current_dpd": 0, "bureau_open_defaults": 1},
        assessment=assessment(0.01), policy=policy,
    )  # fmt: skip
    found = find_counterfactual(
        application=application, outcome=declined, policy=policy, score=settled_helps
    )
    assert found.actions == ("settle_bureau_default",) and found.change == "term"
    assert found.text_en.startswith(
        "If the payment default registered with the credit bureau had been paid and marked as "
        "ended, "
    )


def test_a_model_decline_also_tries_paying_an_overdue_balance(policy):
    def paid_helps(candidates, actions):
        return [0.05 if actions else 0.2 for _ in candidates]

    application = facts(amount_eur=1200.0, term_months=12)
    declined = decide(
        application=application, features=CLEAN, assessment=assessment(0.2), policy=policy
    )
    found = find_counterfactual(
        application=application, outcome=declined, policy=policy, score=paid_helps,
        evidence=reason_facts(overdue_balance_eur=80.0),
    )  # fmt: skip
    assert found.actions == ("pay_overdue_balance",)
    # Without an overdue balance there is nothing to pay, and nothing helps.
    assert (
        find_counterfactual(application=application, outcome=declined, policy=policy,
                            score=paid_helps, evidence=reason_facts())
        is None
    )  # fmt: skip


def test_age_is_never_changed(policy):
    application = facts(age_years=17)
    declined = decide(application=application, features=CLEAN, assessment=assessment(0.01),
                      policy=policy)  # fmt: skip
    assert (
        find_counterfactual(application=application, outcome=declined, policy=policy,
                            score=instalment_scorer)
        is None
    )  # fmt: skip


def test_an_amount_in_cents_is_kept_and_only_the_term_changes(policy):
    application = facts(amount_eur=1234.5, term_months=12)  # PD 0.123 at 12 months
    declined = decide(
        application=application, features=CLEAN, assessment=assessment(0.123), policy=policy
    )
    found = find_counterfactual(
        application=application, outcome=declined, policy=policy, score=instalment_scorer
    )
    assert found.change == "term"
    assert (found.suggested.amount_eur, found.suggested.term_months) == (1234.5, 36)
    assert found.text_en == "The application would have been approved with a term of 36 months."


def test_amount_candidates_never_exceed_the_product_limit():
    grid = amount_grid(9000, 4000)
    assert grid[0] == 4000 and min(grid) >= 400 and grid == sorted(grid, reverse=True)


def test_the_amount_asked_for_is_the_first_candidate_to_the_cent():
    grid = amount_grid(3463.5, 8000, 300)
    assert grid[0] == 3463.5 and grid[1] < 3460 and min(grid) >= 300
    # Below the product's minimum the request is searched as it is, never smaller.
    assert amount_grid(3463.5, 8000, 4000) == [3463.5]


@pytest.mark.parametrize(
    ("rules", "expected_en"),
    [
        (["P03_UNDER_MINIMUM_AGE"], "Instalment plans are for people aged 18 or over; no amount"),
        (["P02_INTERNAL_ARREARS"], "Even if you paid the overdue invoices, the assessed"),
        (["P01_BUREAU_OPEN_DEFAULT"], "Even if the payment default registered with the credit"),
        (
            [],
            "The assessed probability of payment difficulty would have stayed too high for any "
            "amount from €300.00 up to the amount applied for and any term (3 to 60 months).",
        ),
    ],
)
def test_a_decline_without_a_counterfactual_says_why_in_plain_words(policy, rules, expected_en):
    text_et, text_en = why_no_counterfactual(
        outcome="decline", rule_codes=rules, product_category="electronics",
        probability_of_default=0.3, policy=policy,
    )  # fmt: skip
    assert text_en.startswith(expected_en)
    assert text_et and text_et != text_en and "_" not in text_et


def test_below_the_product_minimum_only_the_term_is_spoken_of(policy):
    # 250 EUR of electronics, under its smallest plan (300 EUR): only the term is searched.
    assert amount_grid(250, 4000, 300) == [250]
    text_et, text_en = why_no_counterfactual(
        outcome="decline", rule_codes=[], product_category="electronics",
        probability_of_default=0.3, policy=policy, amount_eur=250.0,
    )  # fmt: skip
    assert "for the amount applied for over any term (3 to 60 months)" in text_en
    assert "We do not suggest a smaller amount" in text_en and "€300.00" in text_en
    assert "up to the amount applied for" not in text_en
    assert "taotletud summa ja iga perioodi (3 kuni 60 kuud) korral" in text_et


def test_nothing_is_said_about_counterfactuals_of_approvals_refers_or_unscored_decisions(policy):
    for outcome, pd in (("approve", 0.01), ("refer", None), ("refer", 0.12)):
        assert (
            why_no_counterfactual(outcome=outcome, rule_codes=[], product_category="phone",
                                  probability_of_default=pd, policy=policy)
            is None
        )  # fmt: skip


def test_a_knock_out_rule_and_a_model_reason_never_say_the_same_thing(policy):
    declined = decide(
        application=facts(),
        features={"current_dpd": 170, "bureau_open_defaults": 1},
        assessment=assessment(0.3, current_dpd=0.9, bureau_open_defaults=0.5, bureau_score=0.2),
        policy=policy,
        evidence=reason_facts(
            current_dpd=170, max_dpd_6m=170, overdue_balance_eur=90.0, bureau_open_defaults=1,
            bureau_class="poor",
        ),
    )  # fmt: skip
    assert [r.code for r in declined.reasons] == [
        "P02_INTERNAL_ARREARS", "P01_BUREAU_OPEN_DEFAULT", "R06_BUREAU_RATING",
    ]  # fmt: skip
