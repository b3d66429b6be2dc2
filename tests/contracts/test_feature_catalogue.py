"""The feature catalogue labels every model input, with unit, rounding, meaning, direction."""

from __future__ import annotations

import pytest

from data_contracts.feature_catalogue import (
    FeatureCatalogueError,
    feature_catalogue,
    feature_display,
    feature_label,
    read_catalogue,
)
from data_contracts.loader import load_contract
from scoring.features import FEATURE_NAMES


def test_every_model_input_has_exactly_one_entry():
    assert sorted(feature_catalogue()) == sorted(FEATURE_NAMES)


def test_risk_directions_agree_with_the_training_contract_s_monotone_constraints():
    from models.training.train import plan_from_contract

    columns = ["application_id", "applied_at", "defaulted_12m", *FEATURE_NAMES]
    plan = plan_from_contract(load_contract("training_snapshot"), columns)
    expected = {"increasing": "higher", "decreasing": "lower"}
    for name, direction in plan.monotone.items():
        assert feature_catalogue()[name].riskier == expected[direction], name


@pytest.mark.parametrize(
    ("name", "value", "en", "et"),
    [
        ("pay_margin_mean_12m", -7.454545454545454, "-7.5 days", "-7,5 päeva"),
        ("instalment_to_avg_invoice", 5.326887734718339, "5.3 ×", "5,3 ×"),
        ("product_category_code", 0.0, "heat pump", "soojuspump"),
        ("thin_file", 0.0, "no", "ei"),
        ("amount_eur", 12000.0, "€12,000.00", "12\xa0000,00\xa0€"),
        ("max_dpd_3m", 1.0, "1 day", "1 päev"),
        ("tenure_months", 40.0, "40 months", "40 kuud"),
        ("bureau_class_rank", 2.0, "satisfactory", "rahuldav"),
        ("partial_payment_share_12m", 0.25, "25%", "25%"),
        ("mean_dpd_12m", None, "–", "–"),
    ],
)
def test_values_are_shown_rounded_with_their_unit_in_each_language(name, value, en, et):
    assert feature_display(name, value, "en") == en
    assert feature_display(name, value, "et") == et


def test_labels_are_words_not_machine_names():
    for name, entry in feature_catalogue().items():
        assert "_" not in entry.label_en and "_" not in entry.label_et, name
        assert entry.label_en != entry.label_et or entry.label_en.isupper(), name
        assert entry.meaning_en.endswith(".") and entry.meaning_et.endswith("."), name
    assert feature_label("max_dpd_3m", "et") == "Suurim hilinemine, viimased 3 kuud"


def test_a_catalogue_with_a_gap_is_refused_naming_the_feature_and_field(tmp_path):
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "features:\n  amount_eur:\n    label_en: Amount\n    label_et: Summa\n    unit: eur\n"
        "    decimals: 2\n    riskier: sideways\n    meaning_en: x.\n    meaning_et: y.\n"
    )
    with pytest.raises(FeatureCatalogueError, match="amount_eur has riskier 'sideways'"):
        read_catalogue(bad)
    bad.write_text("features:\n  amount_eur:\n    label_en: Amount\n")
    with pytest.raises(FeatureCatalogueError, match="amount_eur lacks label_et, unit"):
        read_catalogue(bad)
