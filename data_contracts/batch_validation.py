"""Great Expectations suites generated from contracts, and batch validation with a readable report.

Each contract table becomes one expectation suite: the exact column set ("no column outside
the contract"), and per column its type, not-null when required, bounds, enum, pattern and
uniqueness of keys. Values of personal-data fields never reach the summary or the saved report.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig

from data_contracts.loader import Contract, ContractViolation, FieldSpec, TableSpec

_REDACTED = "<hidden: personal data>"
_EXAMPLES = 5

# Accepted pandas dtypes per logical type. Dates read from Parquet date32 arrive as object
# columns of datetime.date, so object is accepted for dates; strings may be str or object.
_DTYPES: dict[str, tuple[str, ...]] = {
    "string": ("str", "string", "object"),
    "integer": (
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "Int64",
        "Int32",
        "Int16",
        "Int8",
    ),
    "number": ("float64", "float32", "Float64", "Float32", "int64", "int32", "Int64"),
    "boolean": ("bool", "boolean"),
    "date": (
        "object",
        "date32[day][pyarrow]",
        "datetime64[s]",
        "datetime64[ms]",
        "datetime64[us]",
        "datetime64[ns]",
    ),
    "timestamp": tuple(f"datetime64[{unit}, UTC]" for unit in ("s", "ms", "us", "ns")),
    "time": ("object",),
    "object": ("object",),
    "array": ("object",),
}

logging.getLogger("great_expectations").setLevel(logging.WARNING)


class ExpectColumnToHaveContractType(gxe.ExpectColumnValuesToBeInTypeList):
    """The column's pandas dtype is one of the names listed for its contract type.

    The built-in type check compares numpy type objects and does not recognise pandas'
    string and time-zone-aware dtypes, so this compares dtype names instead.
    """

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        column = self.configuration.kwargs.get("column")
        expected = self.configuration.kwargs.get("type_list") or []
        observed = next(
            (
                str(t["type"])
                for t in metrics.get("table.column_types") or []
                if t["name"] == column
            ),
            None,
        )
        return {"success": observed in expected, "result": {"observed_value": observed}}


@dataclass
class Failure:
    """One failed expectation, in words a data engineer can act on."""

    expectation: str
    column: str | None
    rule: str
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    observed: Any = None

    def line(self) -> str:
        where = f"column {self.column!r}" if self.column else "table"
        text = f"- {where}: {self.rule} ({self.expectation})"
        if self.unexpected_count is not None:
            text += f"; {self.unexpected_count} rows fail ({self.unexpected_percent:.3g}%)"
        if self.observed is not None:
            text += f"; observed {self.observed}"
        if self.examples:
            text += f"; e.g. {', '.join(map(repr, self.examples))}"
        return text


@dataclass
class ValidationResult:
    """Outcome of validating one batch against one contract table."""

    contract_label: str
    table: str
    row_count: int
    success: bool
    evaluated: int
    failures: list[Failure]
    report_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        head = (
            f"contract {self.contract_label}, table {self.table!r}: {self.row_count} rows, "
            f"{self.evaluated} expectations, "
        )
        if self.success:
            return head + "all passed"
        lines = [head + f"{len(self.failures)} failed:"]
        lines += [failure.line() for failure in self.failures]
        if self.report_path is not None:
            lines.append(f"full result: {self.report_path}")
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        if not self.success:
            raise ContractViolation(self.summary(), report_path=self.report_path)


def build_suite(contract: Contract, table: TableSpec) -> gx.ExpectationSuite:
    """The expectation suite for one contract table."""
    _context()  # Great Expectations needs an active context before a suite can hold expectations
    suite = gx.ExpectationSuite(name=f"{contract.id}-{contract.version}-{table.name}")
    suite.meta = {"contract": contract.label, "table": table.name}
    columns = [spec.name for spec in _flat_fields(table)]
    suite.add_expectation(
        gxe.ExpectTableColumnsToMatchSet(
            column_set=columns,
            exact_match=True,
            meta={"rule": "exactly the columns the contract lists, no column outside it"},
        )
    )
    for spec in _flat_fields(table):
        for expectation in _column_expectations(spec):
            suite.add_expectation(expectation)
    return suite


def _flat_fields(table: TableSpec) -> tuple[FieldSpec, ...]:
    """Collected scalar fields; nested lists and objects arrive as tables of their own."""
    return tuple(f for f in table.collected_fields if f.logical_type not in ("array", "object"))


def _column_expectations(spec: FieldSpec) -> list[gxe.Expectation]:
    name = spec.name
    meta = {"personal_data": spec.personal_data}
    found: list[gxe.Expectation] = [
        ExpectColumnToHaveContractType(
            column=name,
            type_list=list(_DTYPES.get(spec.logical_type, ("object",))),
            meta=meta | {"rule": f"type {spec.logical_type}"},
        )
    ]
    if spec.required:
        found.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=name, meta=meta | {"rule": "required: no nulls"}
            )
        )
    if spec.unique:
        found.append(gxe.ExpectColumnValuesToBeUnique(column=name, meta=meta | {"rule": "unique"}))
    if spec.enum:
        found.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=name,
                value_set=list(spec.enum),
                meta=meta | {"rule": f"one of {list(spec.enum)}"},
            )
        )
    if spec.logical_type in ("integer", "number"):
        low = spec.minimum if spec.minimum is not None else spec.exclusive_minimum
        high = spec.maximum if spec.maximum is not None else spec.exclusive_maximum
        if low is not None or high is not None:
            strict_min = spec.minimum is None and spec.exclusive_minimum is not None
            strict_max = spec.maximum is None and spec.exclusive_maximum is not None
            rule = " and ".join(
                part
                for part in (
                    None if low is None else f"{'>' if strict_min else '>='} {low}",
                    None if high is None else f"{'<' if strict_max else '<='} {high}",
                )
                if part
            )
            found.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=low,
                    max_value=high,
                    strict_min=strict_min,
                    strict_max=strict_max,
                    meta=meta | {"rule": rule},
                )
            )
    if spec.logical_type == "string" and spec.pattern:
        found.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column=name, regex=spec.pattern, meta=meta | {"rule": f"matches {spec.pattern}"}
            )
        )
    return found


def validate_frame(
    df: pd.DataFrame,
    contract: Contract,
    *,
    report_dir: Path | None = None,
    table: str | None = None,
) -> ValidationResult:
    """Validate ``df`` against a contract table; save the full result in ``report_dir``."""
    spec = contract.table(table)
    nested = [
        f.name for f in spec.collected_fields if f.name not in {x.name for x in _flat_fields(spec)}
    ]
    df = df.drop(columns=[name for name in nested if name in df.columns])
    suite = build_suite(contract, spec)
    # A unique name lets concurrent validations share the one context.
    suite.name = f"{suite.name}-{uuid.uuid4().hex}"
    suite = _context().suites.add(suite)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": df})
    try:
        outcome = batch.validate(
            suite,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": _EXAMPLES},
        )
    finally:
        _context().suites.delete(suite.name)
    personal = {f.name for f in spec.fields if f.personal_data}
    raw = _redacted(outcome, personal)
    result = ValidationResult(
        contract_label=contract.label,
        table=spec.name,
        row_count=len(df),
        success=bool(outcome.success),
        evaluated=len(outcome.results),
        failures=_failures(outcome, spec, personal, set(df.columns)),
        raw=raw,
    )
    if report_dir is not None:
        result.report_path = _save(raw, report_dir, contract, spec.name)
    return result


def _failures(
    outcome: ExpectationSuiteValidationResult,
    spec: TableSpec,
    personal: set[str],
    present: set[str],
) -> list[Failure]:
    failures = []
    for item in outcome.results:
        if item.success:
            continue
        config = item.expectation_config
        if config is None:  # every result of a suite run carries its expectation
            continue
        column = config.kwargs.get("column")
        if column is not None and column not in present:
            continue  # the column-set failure already names the missing column
        result = item.result or {}
        failure = Failure(
            expectation=config.type,
            column=column,
            rule=(config.meta or {}).get("rule", config.type),
            unexpected_count=result.get("unexpected_count"),
            unexpected_percent=result.get("unexpected_percent"),
        )
        if "details" in result and "mismatched" in result["details"]:
            mismatched = result["details"]["mismatched"]
            failure.observed = ", ".join(
                f"{kind} {sorted(names)}" for kind, names in sorted(mismatched.items())
            )
            banned = sorted(f.name for f in spec.fields if not f.collected and f.name in present)
            if banned:
                failure.observed += (
                    f"; {banned} must never be present: the contract lists them with "
                    "modelUse=forbidden, collected=false"
                )
        elif config.type == "expect_column_to_have_contract_type":
            failure.observed = f"dtype {result.get('observed_value')}"
        if item.exception_info and item.exception_info.get("raised_exception"):
            failure.observed = f"could not evaluate: {item.exception_info.get('exception_message')}"
        examples = result.get("partial_unexpected_list") or []
        if column in personal:
            failure.examples = [_REDACTED] if examples else []
        else:
            failure.examples = [_plain(value) for value in examples[:_EXAMPLES]]
        failures.append(failure)
    return failures


_VALUE_KEYS = re.compile(r"unexpected_(list|counts|index|values)|partial_unexpected")


def _redacted(outcome: ExpectationSuiteValidationResult, personal: set[str]) -> dict[str, Any]:
    """The JSON result with every example value of a personal-data column removed."""
    data = outcome.to_json_dict()
    for item in data.get("results", []):
        column = (item.get("expectation_config") or {}).get("kwargs", {}).get("column")
        if column in personal:
            result = item.get("result") or {}
            for key in list(result):
                if _VALUE_KEYS.search(key):
                    result[key] = _REDACTED
    return data


def _save(raw: dict[str, Any], report_dir: Path, contract: Contract, table: str) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = report_dir / f"validation-{contract.id}-{table}-{stamp}.json"
    path.write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


_STATE: dict[str, Any] = {}


def _context() -> Any:
    """One ephemeral Great Expectations context per process, progress bars off."""
    if "context" not in _STATE:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _STATE["context"] = context
    return _STATE["context"]


def _batch_definition() -> Any:
    if "batch_definition" not in _STATE:
        source = _context().data_sources.add_pandas(f"contracts-{uuid.uuid4().hex[:8]}")
        asset = source.add_dataframe_asset("batch")
        _STATE["batch_definition"] = asset.add_batch_definition_whole_dataframe("whole")
    return _STATE["batch_definition"]
