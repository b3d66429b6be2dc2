"""Changing a contract changes the API schema, the validation and the training gate, no code."""

from __future__ import annotations

import shutil

import pydantic
import pytest

from data_contracts.loader import (
    CONTRACTS_DIR,
    ForbiddenFeature,
    load_contract,
    request_model,
    validate_batch,
)
from data_contracts.synthetic import valid_frame

NEW_REQUEST_FIELD = """\
      - name: store_id
        logicalType: string
        description: "Store where the purchase is made."
        required: true
        logicalTypeOptions: {pattern: "^ST[0-9]{3}$"}
        customProperties:
          - {property: personalData, value: false}
          - {property: purpose, value: "route the answer to the store"}
          - {property: legalBasis, value: "GDPR Art. 6(1)(b) contract"}
          - {property: modelUse, value: "not_applicable"}
          - {property: retention, value: "P6M"}
"""
NEW_FEATURE = """\
      - name: open_plans_count
        logicalType: integer
        physicalType: int64
        description: "Instalment plans the customer is still paying."
        required: true
        logicalTypeOptions: {minimum: 0, maximum: 20, format: i64}
        customProperties:
          - {property: personalData, value: false}
          - {property: purpose, value: "develop and validate creditworthiness models"}
          - {property: legalBasis, value: "GDPR Art. 6(1)(f) legitimate interest"}
          - {property: modelUse, value: "allowed"}
          - {property: monotone, value: "increasing"}
          - {property: retention, value: "P3Y"}
"""
BODY = {
    "application_id": "APP-1",
    "personal_code": "38001085718",
    "purchase": {"amount_eur": 100.0, "term_months": 12, "product_category": "phone"},
    "channel": "store",
}


def copy_contract(name, tmp_path):
    target = tmp_path / f"{name}.odcs.yaml"
    shutil.copy(CONTRACTS_DIR / f"{name}.odcs.yaml", target)
    return target


def append_field(path, text):
    path.write_text(path.read_text() + text)


def test_a_field_added_to_the_request_contract_appears_in_the_api_model(tmp_path):
    path = copy_contract("decision_request", tmp_path)
    before = request_model(load_contract(path), name="Before")
    with pytest.raises(pydantic.ValidationError, match="store_id is not listed"):
        before.model_validate(BODY | {"store_id": "ST042"})

    append_field(path, NEW_REQUEST_FIELD)
    after = request_model(load_contract(path), name="After")
    assert after.model_validate(BODY | {"store_id": "ST042"}).store_id == "ST042"
    assert after.model_json_schema()["properties"]["store_id"]["pattern"] == "^ST[0-9]{3}$"
    with pytest.raises(pydantic.ValidationError, match="store_id"):
        after.model_validate(BODY)  # now required


def test_a_feature_added_to_the_snapshot_contract_is_validated_and_allowed(tmp_path):
    path = copy_contract("training_snapshot", tmp_path)
    before = load_contract(path)
    frame = valid_frame(before, 40).assign(open_plans_count=1)
    assert not validate_batch(frame, before).success
    with pytest.raises(ForbiddenFeature, match="not listed"):
        before.check_model_features(["open_plans_count"])

    append_field(path, NEW_FEATURE)
    after = load_contract(path)
    assert validate_batch(frame, after).success
    after.check_model_features(["open_plans_count"])
    frame.loc[0, "open_plans_count"] = 21
    assert "'open_plans_count': >= 0 and <= 20" in validate_batch(frame, after).summary()


def test_a_feature_marked_forbidden_is_refused_by_the_gate_and_kept_out_of_the_batch(tmp_path):
    path = copy_contract("training_snapshot", tmp_path)
    text = path.read_text()
    start = text.index("- name: bureau_score")
    end = text.index("- name:", start + 1)
    retention = '          - {property: retention, value: "P3Y"}\n'
    block = (
        text[start:end]
        .replace('value: "allowed"', 'value: "forbidden"')
        .replace('          - {property: monotone, value: "decreasing"}\n', "")
        .replace(retention, retention + "          - {property: collected, value: false}\n")
    )
    path.write_text(text[:start] + block + text[end:])
    contract = load_contract(path)

    assert "bureau_score" not in [f.name for f in contract.model_features()]
    with pytest.raises(ForbiddenFeature, match="field 'bureau_score' has modelUse=forbidden"):
        contract.check_model_features(["bureau_score"])
    frame = valid_frame(load_contract("training_snapshot"), 30)
    result = validate_batch(frame, contract)
    assert not result.success
    assert "['bureau_score'] must never be present" in result.summary()
    assert validate_batch(frame.drop(columns="bureau_score"), contract).success
