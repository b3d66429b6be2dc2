"""Training refuses any feature the training snapshot contract does not allow."""

from __future__ import annotations

import pytest

from data_contracts.loader import ForbiddenFeature, load_contract


@pytest.fixture(scope="module")
def snapshot():
    return load_contract("training_snapshot")


def test_allowed_features_pass_the_gate(snapshot):
    snapshot.check_model_features(f.name for f in snapshot.model_features())


def test_a_forbidden_attribute_is_refused_naming_the_field_and_the_clause(snapshot):
    with pytest.raises(ForbiddenFeature) as refused:
        snapshot.check_model_features(["bureau_score", "sex"])
    assert str(refused.value) == (
        "feature 'sex' is not allowed for creditworthiness models: "
        "contract training_snapshot 1.2.0, field 'sex' has modelUse=forbidden"
    )


def test_a_feature_the_contract_does_not_list_is_refused(snapshot):
    with pytest.raises(
        ForbiddenFeature,
        match="'shoe_size' is not allowed .* not listed in contract training_snapshot 1.2.0",
    ):
        snapshot.check_model_features(["shoe_size"])


@pytest.mark.parametrize("column", ["defaulted_12m", "applied_at", "application_id"])
def test_target_time_and_key_columns_are_not_features(snapshot, column):
    with pytest.raises(ForbiddenFeature, match=f"field '{column}' has modelUse="):
        snapshot.check_model_features([column])


def test_every_refused_feature_is_reported_at_once(snapshot):
    with pytest.raises(ForbiddenFeature) as refused:
        snapshot.check_model_features(["nationality", "tenure_months", "social_media_handle"])
    assert [v.split(":")[0] for v in refused.value.violations] == [
        "feature 'nationality' is not allowed for creditworthiness models",
        "feature 'social_media_handle' is not allowed for creditworthiness models",
    ]
