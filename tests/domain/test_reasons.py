"""Reason codes are given only when true for the customer, and say what was found."""

from __future__ import annotations

import math

import pytest
from babel.numbers import format_currency, format_decimal
from reason_facts import reason_facts, thin_file_facts

from scoring.domain.reasons import (
    FACTORS,
    REASON_CODES,
    factor_of_code,
    model_reasons,
    money_text,
    number_text,
    reason_rule,
)

NAN = math.nan
R05, R08 = "R05_SHORT_HISTORY", "R08_INSTALMENT_SIZE"


def codes(reasons):
    return [r.code for r in reasons]


def test_a_customer_without_invoices_hears_that_we_hold_no_history_not_about_their_bills():
    # The adverse weight sits on features that are missing for want of invoices.
    contributions = {
        "pay_margin_mean_12m": 0.6, "instalment_to_avg_invoice": 0.4, "max_dpd_12m": 0.1,
        "amount_eur": 0.2, "bureau_score": -0.3,
    }  # fmt: skip
    features = {"pay_margin_mean_12m": NAN, "instalment_to_avg_invoice": NAN, "max_dpd_12m": 0}
    reasons = model_reasons(contributions, features, thin_file_facts(amount_eur=12000.0,
                                                                     term_months=60))  # fmt: skip
    assert codes(reasons) == ["R05_SHORT_HISTORY", "R08_INSTALMENT_SIZE"]
    assert reasons[0].text_en.startswith("We have no payment history for you")
    assert reasons[0].contribution == pytest.approx(1.1)
    assert "compare" in reasons[1].text_en and "€200.00" in reasons[1].text_en
    assert "200,00\xa0€" in reasons[1].text_et


def test_payment_timing_needs_invoices_paid_in_the_year_and_a_margin_below_the_stated_level():
    contributions = {"pay_margin_mean_12m": 0.5}
    features = {"pay_margin_mean_12m": 1.5}
    close = reason_facts(settled_due_12m=11, pay_margin_mean_12m=1.5)
    (reason,) = model_reasons(contributions, features, close)
    assert reason.code == "R12_PAYMENT_TIMING"
    assert reason.text_en == (
        "You paid the 11 invoices from us of the past year on time, but on average only "
        "1.5 days before the due date."
    )
    assert "1,5 päeva enne maksetähtaega" in reason.text_et
    assert model_reasons(contributions, features, reason_facts(pay_margin_mean_12m=6.5)) == []


def test_paying_close_to_the_due_date_over_the_whole_history_says_so_in_both_languages():
    # The past year's margin is wide enough; over every invoice paid on time it is not.
    contributions = {"early_days_mean": 0.3, "early_days_recent_mean": 0.2}
    features = {"early_days_mean": 1.27, "early_days_recent_mean": 1.1}
    close = reason_facts(pay_margin_mean_12m=4.0, paid_on_time=29, early_days_mean=1.27)
    (reason,) = model_reasons(contributions, features, close)
    assert reason.code == "R12_PAYMENT_TIMING"
    assert reason.text_en == (
        "The 29 invoices from us you paid on time were paid on average only 1.3 days before "
        "the due date."
    )
    assert reason.text_et == (
        "Tähtajaks tasutud 29 meie arvet tasusite keskmiselt vaid 1,3 päeva enne maksetähtaega."
    )
    one = reason_facts(pay_margin_mean_12m=None, settled_due_12m=0, paid_on_time=1,
                       early_days_mean=0.0)  # fmt: skip
    (reason,) = model_reasons(contributions, features, one)
    assert reason.text_en == (
        "The only invoice from us you paid on time was paid only 0.0 days before the due date."
    )
    assert (
        reason.text_et
        == "Ainsa tähtajaks tasutud meie arve tasusite vaid 0,0 päeva enne maksetähtaega."
    )
    # Careful over the whole history: nothing to say, whatever the model's weights.
    assert model_reasons(contributions, features, reason_facts(pay_margin_mean_12m=4.0)) == []


def test_late_payments_and_timing_are_one_factor_and_give_one_reason():
    late = reason_facts(late_12m=3, late_24m=4, max_dpd_12m=41, max_dpd_24m=41,
                        settled_due_12m=12, pay_margin_mean_12m=-4.0)  # fmt: skip
    reasons = model_reasons({"pay_margin_mean_12m": 0.5, "late_payments_12m": 0.2}, {}, late)
    assert codes(reasons) == ["R02_LATE_PAYMENT_HISTORY"]
    assert reasons[0].text_en == (
        "3 of the 12 invoices from us that fell due in the past year were not paid by the due "
        "date; the longest delay was 41 days."
    )
    assert reasons[0].text_et == (
        "Viimase aasta jooksul tasumisele kuulunud 12 meie arvest 3 ei olnud tähtajaks "
        "tasutud; suurim hilinemine oli 41 päeva."
    )
    assert factor_of_code("R02_LATE_PAYMENT_HISTORY") is factor_of_code("R12_PAYMENT_TIMING")


def test_the_current_bill_is_not_an_unpaid_balance():
    current_bill = reason_facts(current_dpd=1, max_dpd_6m=1, overdue_balance_eur=0.0)
    contributions = {"current_balance_eur": 0.7}
    assert model_reasons(contributions, {}, current_bill) == []
    overdue = reason_facts(current_dpd=33, max_dpd_6m=33, overdue_balance_eur=69.93)
    (reason,) = model_reasons(contributions, {}, overdue)
    assert reason.code == "R04_OUTSTANDING_BALANCE"
    assert reason.text_en == (
        "€69.93 of invoices from us is unpaid more than 14 days after the due date; the oldest "
        "is 33 days past its due date."
    )
    assert "69,93\xa0€" in reason.text_et


def test_the_invoice_unpaid_now_is_cited_once_with_its_amount_not_again_as_a_late_payment():
    overdue = reason_facts(current_dpd=30, max_dpd_6m=30, overdue_balance_eur=25.10)
    # Either factor may weigh more; the unpaid invoice is named once, by the balance reason.
    for contributions in (
        {"current_balance_eur": 0.29, "current_dpd": 0.24},
        {"current_balance_eur": 0.24, "current_dpd": 0.29},
    ):
        given = codes(model_reasons(contributions, {}, overdue))
        assert (
            given.count("R04_OUTSTANDING_BALANCE") + given.count("R01_RECENT_LATE_PAYMENTS") == 1
        ), given
    # A late payment paid months ago is another fact: both reasons stand.
    paid_late = reason_facts(current_dpd=30, max_dpd_6m=45, overdue_balance_eur=25.10)
    given = codes(model_reasons({"current_balance_eur": 0.29, "current_dpd": 0.24}, {}, paid_late))
    assert given == ["R04_OUTSTANDING_BALANCE", "R01_RECENT_LATE_PAYMENTS"]


def test_the_invoice_unpaid_now_is_not_cited_again_after_the_late_payment_history():
    # Mart in the demo: many late invoices (R02 first), then the balance and the unpaid one.
    late_and_unpaid = reason_facts(
        late_12m=6, late_24m=7, max_dpd_12m=41, max_dpd_24m=41,
        current_dpd=30, max_dpd_6m=30, overdue_balance_eur=25.10,
    )  # fmt: skip
    contributions = {"late_payments_12m": 0.5, "current_balance_eur": 0.29, "current_dpd": 0.24}
    given = codes(model_reasons(contributions, {}, late_and_unpaid))
    assert given == ["R02_LATE_PAYMENT_HISTORY", "R04_OUTSTANDING_BALANCE"]


def test_a_former_customer_without_invoices_in_two_years_is_not_told_of_only_0():
    former = reason_facts(invoices_24m=0, invoices_due_12m=0, settled_due_12m=0,
                          pay_margin_mean_12m=None, avg_invoice_eur_12m=None)  # fmt: skip
    (reason,) = model_reasons({"invoice_count_24m": 0.4}, {}, former)
    assert reason.code == "R05_SHORT_HISTORY"
    assert reason.text_en == (
        "You have had no invoices from us in the past two years: your payment history with us "
        "is older than that."
    )
    assert reason.text_et == (
        "Viimase kahe aasta jooksul ei ole te meilt arveid saanud: teie maksete ajalugu meie "
        "juures on vanem."
    )


def test_the_bureau_rating_names_the_class_and_what_it_means():
    contributions = {"bureau_score": 0.4}
    (reason,) = model_reasons(
        contributions, {}, reason_facts(bureau_class="satisfactory", bureau_score=612)
    )
    assert "“satisfactory” (3 of 4, where 1 is best)" in reason.text_en
    assert "6–14.9 %" in reason.text_en and "score 612" in reason.text_en
    assert "„rahuldav“" in reason.text_et and "6–14,9 %" in reason.text_et
    # The best class is no reason, whatever the model made of the score.
    assert model_reasons(contributions, {}, reason_facts(bureau_class="very_good")) == []


@pytest.mark.parametrize(
    ("contributions", "facts", "expected"),
    [
        ({"max_dpd_3m": 0.3}, reason_facts(max_dpd_6m=0), []),
        ({"reminders_12m": 0.3}, reason_facts(), []),
        ({"bureau_closed_defaults": 0.3}, reason_facts(), []),
        ({"term_months": 0.3}, reason_facts(term_months=12), []),
        ({"term_months": 0.3}, reason_facts(term_months=48), ["R09_TERM"]),
        ({"partial_payment_share_12m": 0.3}, reason_facts(), []),
        ({"tenure_months": 0.3}, reason_facts(), []),
        ({"tenure_months": 0.3}, reason_facts(tenure_months=5, invoices_24m=5), [R05]),
        ({"instalment_to_avg_invoice": 0.3}, reason_facts(amount_eur=120.0), []),
        ({"instalment_to_avg_invoice": 0.3}, reason_facts(amount_eur=1800.0), [R08]),
    ],
)  # fmt: skip
def test_an_adverse_factor_gives_its_reason_only_when_the_customer_s_inputs_show_it(
    contributions, facts, expected
):
    present = dict.fromkeys(contributions, 1.0)
    assert codes(model_reasons(contributions, present, facts)) == expected


def test_reasons_state_the_values_found():
    facts = reason_facts(
        reminders_12m=2, collections_24m=1, partial_paid_due_12m=3, amount_eur=1800.0,
        bureau_closed_defaults=2, bureau_open_defaults=0, max_dpd_6m=9, term_months=12,
    )  # fmt: skip
    texts = {code: reason_rule(code, facts) for code in REASON_CODES}
    said = {code: rule.texts(facts) for code, rule in texts.items() if rule is not None}
    assert said["R03_REMINDERS_AND_COLLECTION"] == (
        "Viimase aasta jooksul saatsime teile 2 maksemeeldetuletust; viimase kahe aasta jooksul "
        "anti üks teie võlg üle inkassoettevõttele.",
        "In the past year we sent you 2 payment reminders; in the past two years a debt of "
        "yours was passed to a collection agency.",
    )
    assert said["R11_PAYMENT_PATTERN"][1] == (
        "3 of the 12 invoices from us that fell due in the past year were paid in parts rather "
        "than at once."
    )
    assert said["R08_INSTALMENT_SIZE"][1] == (
        "The monthly instalment of €150.00 is 3.1 times your average invoice from us in the "
        "past year (€48.00)."
    )
    assert said["R07_BUREAU_DEFAULTS"][1] == (
        "The credit bureau has 2 payment defaults of yours on record (0 open, 2 settled)."
    )
    assert said["R01_RECENT_LATE_PAYMENTS"][1] == (
        "In the past 6 months an invoice from us was paid as late as 9 days after its due date."
    )
    assert (
        reason_rule("R09_TERM", reason_facts(term_months=36)).texts(reason_facts(term_months=36))[0]
        == "Järelmaksu periood 36 kuud on pikk (üle 24 kuu)."
    )


def test_no_two_codes_mean_the_same_and_each_factor_gives_one_reason_at_most():
    meanings = [rule.meaning_en for factor in FACTORS for rule in factor.rules]
    assert len(meanings) == len(set(meanings))
    for code in REASON_CODES:
        assert sum(any(r.code == code for r in f.rules) for f in FACTORS) == 1


@pytest.mark.parametrize("value", [0.0, 0.5, 69.93, 999.99, 1000.0, 12000.0, 1234567.5])
def test_amounts_are_written_as_babel_writes_them_in_each_language(value):
    assert money_text(value, "et") == format_currency(value, "EUR", locale="et")
    assert money_text(value, "en") == format_currency(value, "EUR", locale="en")
    assert number_text(value, "et", decimals=1) == format_decimal(
        value, format="#,##0.0", locale="et"
    )


def test_every_code_has_a_short_label_for_the_queue():
    from scoring.domain.reasons import POLICY_REASONS, REASON_CODES, short_label

    for code in (*REASON_CODES, *POLICY_REASONS):
        label = short_label(code)
        assert label and "_" not in label and len(label) <= 32, code
