"""What the decision log says a stored decision is: the ``record`` of its log entry.

Every decision, automated or made by a person, is logged with this record, and the log's
check compares the stored decision row with it, field by field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The decision's columns its log entry records, in the order the record lists them.
RECORDED_COLUMNS = (
    "outcome",
    "automated",
    "probability_of_default",
    "risk_grade",
    "model_name",
    "model_version",
    "policy_version",
    "contract_versions",
    "input_hash",
    "bureau_report_id",
)
# The columns a stored decision must still hold as logged (the reasons are checked by code).
CHECKED_COLUMNS = (
    "outcome",
    "automated",
    "probability_of_default",
    "risk_grade",
    "model_version",
    "policy_version",
    "input_hash",
    "bureau_report_id",
)


def decision_record(
    columns: Mapping[str, Any],
    *,
    reasons: Sequence[Mapping[str, Any]],
    policy_rules: Sequence[Any],
) -> dict[str, Any]:
    """The log entry's record of a decision from its stored columns, reasons and rules."""
    return {
        **{column: columns[column] for column in RECORDED_COLUMNS},
        "reason_codes": [reason["code"] for reason in reasons],
        "policy_rules": list(policy_rules),
    }
