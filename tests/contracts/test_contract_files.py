"""The six contracts are valid ODCS, complete, and say what the design promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from datacontract.data_contract import DataContract

from data_contracts.loader import CONTRACTS_DIR, ContractError, load_contract

NAMES = [
    "decision_request",
    "payment_history",
    "bureau_report",
    "decision_record",
    "training_snapshot",
    "review_case",
]
FEATURES = [
    "tenure_months", "thin_file", "invoice_count_24m", "max_dpd_3m", "max_dpd_6m",
    "max_dpd_12m", "max_dpd_24m", "mean_dpd_12m", "late_payments_12m", "late_payments_24m",
    "months_since_last_late_payment", "reminders_12m", "collections_24m", "current_balance_eur",
    "current_dpd", "max_balance_12m_eur", "avg_invoice_eur_12m", "partial_payment_share_12m",
    "pay_margin_mean_12m", "early_days_mean", "early_days_recent_mean",
    "bureau_score", "bureau_class_rank", "bureau_open_defaults", "bureau_closed_defaults",
    "amount_eur", "term_months", "monthly_instalment_eur", "instalment_to_avg_invoice",
    "product_category_code",
]  # fmt: skip
NEVER_MODEL_INPUTS = [
    "sex", "marital_status", "nationality", "ethnicity", "religion", "health", "name", "email",
    "phone", "address", "region", "language", "age_years", "free_text_notes",
    "social_media_handle",
]  # fmt: skip


def test_the_contracts_folder_holds_exactly_the_six_contracts():
    assert sorted(p.name for p in CONTRACTS_DIR.glob("*.odcs.yaml")) == sorted(
        f"{n}.odcs.yaml" for n in NAMES
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_contract_passes_datacontract_lint_offline(name):
    run = DataContract(
        data_contract_file=str(CONTRACTS_DIR / f"{name}.odcs.yaml"), inline_references=False
    ).lint()
    assert run.has_passed(), [(c.name, c.reason) for c in run.checks if c.result != "passed"]


def test_the_datacontract_cli_lints_a_contract_with_its_bundled_schema():
    cli = Path(sys.executable).with_name("datacontract")
    done = subprocess.run(
        [
            str(cli),
            "lint",
            "--no-inline-references",
            str(CONTRACTS_DIR / "decision_request.odcs.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_field_states_personal_data_purpose_legal_basis_model_use_and_retention(name):
    contract = load_contract(name)

    def walk(fields):
        for spec in fields:
            yield spec
            yield from walk(spec.properties)
            if spec.items is not None:
                yield from walk(spec.items.properties)

    for table in contract.tables:
        for spec in walk(table.fields):
            assert spec.description, f"{name}.{spec.name} has no description"
            assert spec.purpose and spec.legal_basis and spec.retention, f"{name}.{spec.name}"
            assert spec.model_use in {"allowed", "forbidden", "target", "time", "key",
                                      "not_applicable"}  # fmt: skip


def test_training_snapshot_allows_exactly_the_shared_feature_names():
    snapshot = load_contract("training_snapshot")
    assert [f.name for f in snapshot.model_features()] == FEATURES
    assert snapshot.key_column == "application_id"
    assert snapshot.time_column == "applied_at"
    assert snapshot.target_column == "defaulted_12m"


def test_monotone_directions_follow_credit_sense_and_stay_off_where_uncertain():
    snapshot = load_contract("training_snapshot")
    direction = {f.name: f.monotone for f in snapshot.model_features()}
    assert {direction[n] for n in FEATURES if "dpd" in n} == {"increasing"}
    assert direction["bureau_score"] == "decreasing"
    assert direction["tenure_months"] == "decreasing"
    assert direction["pay_margin_mean_12m"] == "decreasing"  # paying earlier, lower risk
    assert direction["instalment_to_avg_invoice"] == "increasing"
    assert direction["term_months"] is None
    # Beside the 12-month margin, which counts late days, more days early on the invoices
    # paid on time can go with later late ones: no direction is declared for them.
    assert direction["early_days_mean"] is None
    assert direction["early_days_recent_mean"] is None
    assert direction["product_category_code"] is None


def test_the_product_category_code_mapping_lives_in_the_contract():
    code = load_contract("training_snapshot").field("product_category_code")
    assert code.enum_labels == {
        0: "heat_pump", 1: "solar_panels", 2: "electronics", 3: "phone", 4: "smart_home",
        5: "home_appliance",
    }  # fmt: skip


def test_attributes_that_must_never_be_model_inputs_are_listed_as_forbidden_and_not_collected():
    snapshot = load_contract("training_snapshot")
    for name in NEVER_MODEL_INPUTS:
        spec = snapshot.field(name)
        assert (spec.model_use, spec.collected) == ("forbidden", False), name


def test_the_personal_code_is_personal_data_never_a_model_input_and_never_stored_in_clear():
    for name, table in [("decision_request", None), ("payment_history", "invoices")]:
        spec = load_contract(name).table(table).field("personal_code")
        assert spec.personal_data and spec.model_use == "forbidden"
        assert spec.retention == "not_stored"


def test_the_bureau_contract_keeps_only_the_agreed_fields():
    report = load_contract("bureau_report")
    assert [f.name for f in report.fields] == [
        "report_id", "requested_at", "score", "risk_class", "pd_band_low", "pd_band_high",
        "open_default_count", "closed_default_count", "default_entries",
    ]  # fmt: skip
    entries = report.table("default_entries")
    assert [f.name for f in entries.fields] == [
        "report_id", "creditor_sector", "amount_eur", "started_on", "ended_on",
    ]  # fmt: skip


def test_retention_rules_come_from_the_source_notices():
    assert load_contract("payment_history").table("invoices").retention == (
        "accounting_P7Y_after_financial_year"
    )
    assert load_contract("review_case").retention == "case_closed_plus_P3Y"
    assert load_contract("decision_request").retention == "declined_P6M_else_contract_end_plus_P3Y"


def test_a_contract_with_an_unknown_retention_rule_is_refused_at_load(tmp_path):
    text = (CONTRACTS_DIR / "review_case.odcs.yaml").read_text()
    broken = tmp_path / "review_case.odcs.yaml"
    broken.write_text(text.replace('value: "case_closed_plus_P3Y"}', 'value: "forever"}', 1))
    with pytest.raises(ContractError, match="retention 'forever'"):
        load_contract(broken)


def test_a_field_without_a_legal_basis_is_refused_at_load(tmp_path):
    text = (CONTRACTS_DIR / "review_case.odcs.yaml").read_text()
    broken = tmp_path / "review_case.odcs.yaml"
    broken.write_text(text.replace("{property: legalBasis,", "{property: basisOfLaw,", 1))
    with pytest.raises(
        ContractError, match=r"review_case.case_id lacks custom properties \['legalBasis'\]"
    ):
        load_contract(broken)


def test_an_unknown_contract_name_lists_the_known_ones():
    with pytest.raises(ContractError, match="known: .*training_snapshot"):
        load_contract("marketing_profile")
