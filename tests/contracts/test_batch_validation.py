"""Batches are validated with Great Expectations suites generated from the contracts."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from data_contracts.loader import ContractViolation, load_contract, validate_batch
from data_contracts.synthetic import valid_frame


@pytest.fixture(scope="module")
def snapshot():
    return load_contract("training_snapshot")


@pytest.fixture(scope="module")
def history():
    return load_contract("payment_history")


def test_a_valid_training_snapshot_passes(snapshot):
    result = validate_batch(valid_frame(snapshot, 200), snapshot)
    assert result.success, result.summary()
    result.raise_for_failure()
    assert "200 rows" in result.summary() and "all passed" in result.summary()


def test_a_column_outside_the_contract_fails_naming_it_and_the_clause(snapshot):
    frame = valid_frame(snapshot, 50).assign(sex="F", shoe_size=42)
    result = validate_batch(frame, snapshot)
    assert not result.success
    summary = result.summary()
    assert "unexpected ['sex', 'shoe_size']" in summary
    assert "['sex'] must never be present" in summary and "modelUse=forbidden" in summary


def test_a_missing_column_is_reported_once(snapshot):
    result = validate_batch(valid_frame(snapshot, 50).drop(columns="bureau_score"), snapshot)
    assert [f.column for f in result.failures] == [None]
    assert "missing ['bureau_score']" in result.summary()


def test_range_enum_null_type_and_uniqueness_failures_are_readable(snapshot):
    frame = valid_frame(snapshot, 100)
    frame.loc[:2, "term_months"] = 99
    frame.loc[5, "product_category_code"] = 9
    frame.loc[7, "bureau_score"] = None  # also turns the column into floats
    frame.loc[9, "application_id"] = frame.loc[8, "application_id"]
    result = validate_batch(frame, snapshot)
    lines = result.summary().splitlines()
    assert "column 'term_months': >= 3 and <= 60" in "\n".join(lines)
    assert any("'term_months'" in line and "3 rows fail" in line and "99" in line for line in lines)
    assert any("'product_category_code'" in line and "e.g. 9" in line for line in lines)
    assert any("'bureau_score': required: no nulls" in line for line in lines)
    assert any("'bureau_score': type integer" in line and "dtype float64" in line for line in lines)
    assert any("'application_id': unique" in line for line in lines)


def test_values_of_personal_data_fields_never_reach_the_summary_or_the_saved_report(
    history, tmp_path
):
    invoices = valid_frame(history, 30, table="invoices")
    invoices.loc[0, "personal_code"] = "CLEAR-CODE-1"
    invoices.loc[1, "reminders_sent"] = 7
    result = validate_batch(invoices, history, table="invoices", report_dir=tmp_path)
    assert not result.success
    assert "CLEAR-CODE-1" not in result.summary()
    assert "<hidden: personal data>" in result.summary()
    assert "e.g. 7" in result.summary()  # not personal data: shown
    saved = result.report_path.read_text()
    assert result.report_path.parent == tmp_path
    assert "CLEAR-CODE-1" not in saved
    assert json.loads(saved)["success"] is False


def test_a_failed_validation_stops_the_run_with_the_summary(snapshot, tmp_path):
    frame = valid_frame(snapshot, 20).assign(free_text_notes="called twice")
    result = validate_batch(frame, snapshot, report_dir=tmp_path)
    with pytest.raises(ContractViolation) as stopped:
        result.raise_for_failure()
    assert "free_text_notes" in str(stopped.value)
    assert stopped.value.report_path == result.report_path


def test_world_files_validate_with_parquet_types(history, tmp_path):
    customers = pd.DataFrame(
        {
            "personal_code": ["38001085718", "49403136526"],
            "birth_date": [dt.date(1980, 1, 8), dt.date(1994, 3, 13)],
            "customer_since": [dt.date(2019, 5, 1), None],
            "relationship_ended_on": [None, None],
            "segment": ["energy", "telecom"],
        }
    )
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path)
    result = validate_batch(pd.read_parquet(path), history, table="customers")
    assert result.success, result.summary()


def test_nested_bureau_default_entries_validate_as_a_flat_table():
    bureau = load_contract("bureau_report")
    entries = valid_frame(bureau, 10, table="default_entries")
    assert validate_batch(entries, bureau, table="default_entries").success
    flat_reports = valid_frame(bureau, 10).drop(columns="default_entries")
    assert validate_batch(flat_reports, bureau).success
