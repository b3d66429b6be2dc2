"""Read ODCS v3 data contracts into typed field specifications the code enforces.

A contract file is parsed with the ``open_data_contract_standard`` models, then every field
is checked for the custom properties this project relies on (personal-data flag, purpose,
legal basis, model use, retention), so a contract with a gap fails at load, not in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import yaml
from open_data_contract_standard.model import (
    CustomProperty,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)

from scoring.domain.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas

    from data_contracts.batch_validation import ValidationResult

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

# ``protected``: kept aside as a group of the fairness report, never a model input.
MODEL_USES = frozenset(
    {"allowed", "forbidden", "target", "time", "key", "not_applicable", "protected"}
)
MONOTONE_DIRECTIONS = frozenset({"increasing", "decreasing"})
LOGICAL_TYPES = frozenset(
    {"string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean"}
)

# Named retention rules, for periods that run from an event rather than from the record's date.
# The source notices give the periods; the retention sweep interprets the names.
RETENTION_RULES: dict[str, str] = {
    "not_stored": "never stored in clear; only a keyed pseudonym is kept",
    "declined_P6M_else_contract_end_plus_P3Y": (
        "6 months after the decision when no contract followed (price-quote data of "
        "non-customers), otherwise the contract's life plus 3 years"
    ),
    "contract_end_plus_P3Y": "the contract's life plus at least 3 years",
    "accounting_P7Y_after_financial_year": "7 years from the end of the financial year",
    "relationship_end_plus_P5Y": "up to 5 years after the customer relationship ends",
    "case_closed_plus_P3Y": "3 years after the correspondence of the case ends",
}
_ISO_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$")


class ContractError(InvalidInputError, ValueError):
    """A contract file is missing, malformed, or lacks a property the code relies on."""


class ForbiddenFeature(InvalidInputError, ValueError):
    """A model feature that the training snapshot contract does not allow."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("; ".join(violations))


class ContractViolation(InvalidInputError, ValueError):
    """A batch of data does not satisfy its contract; the message is the readable report."""

    def __init__(self, summary: str, *, report_path: Path | None = None) -> None:
        self.summary = summary
        self.report_path = report_path
        super().__init__(summary)


@dataclass(frozen=True)
class FieldSpec:
    """One field (ODCS schema property) with the project's custom properties resolved."""

    name: str
    logical_type: str
    required: bool
    personal_data: bool
    purpose: str
    legal_basis: str
    model_use: str
    monotone: str | None
    retention: str
    description: str = ""
    physical_type: str | None = None
    primary_key: bool = False
    unique: bool = False
    collected: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    enum: tuple[Any, ...] = ()
    enum_labels: dict[Any, str] = field(default_factory=dict)
    examples: tuple[Any, ...] = ()
    default: Any = None
    properties: tuple[FieldSpec, ...] = ()
    items: FieldSpec | None = None
    # A model input whose values are categories (``categorical: true``), ordered when the
    # contract lists ``categoryOrder``; string features are categorical whatever it says.
    categorical: bool = False
    category_order: tuple[Any, ...] = ()
    # On the target: the value that means a bad outcome (``badValue``), for text targets.
    bad_value: Any = None
    # Marked a protected attribute (``protectedAttribute: true``): never a model input.
    protected: bool = False

    @property
    def minimum(self) -> float | None:
        return self.options.get("minimum")

    @property
    def maximum(self) -> float | None:
        return self.options.get("maximum")

    @property
    def exclusive_minimum(self) -> float | None:
        return self.options.get("exclusiveMinimum")

    @property
    def exclusive_maximum(self) -> float | None:
        return self.options.get("exclusiveMaximum")

    @property
    def pattern(self) -> str | None:
        return self.options.get("pattern")


@dataclass(frozen=True)
class TableSpec:
    """One schema object of a contract: a table, a request body or a nested list of rows."""

    name: str
    description: str
    fields: tuple[FieldSpec, ...]
    retention: str | None = None

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    @property
    def collected_fields(self) -> tuple[FieldSpec, ...]:
        """Fields that may be present in the data (not the ones listed only to forbid them)."""
        return tuple(spec for spec in self.fields if spec.collected)


@dataclass(frozen=True)
class Contract:
    """A loaded data contract: identity, tables and the rules derived from its fields."""

    id: str
    version: str
    name: str
    path: Path
    tables: tuple[TableSpec, ...]
    retention: str | None
    document: OpenDataContractStandard = field(repr=False, compare=False)
    # The registered name of models trained on this contract's data (``modelName``).
    model_name: str | None = None

    @property
    def label(self) -> str:
        """How error messages cite the contract, e.g. ``training_snapshot 1.0.0``."""
        return f"{self.id} {self.version}"

    @property
    def fields(self) -> list[FieldSpec]:
        """Fields of the contract's first (main) table."""
        return list(self.tables[0].fields)

    def table(self, name: str | None = None) -> TableSpec:
        """A table by name; a nested array of objects is addressed by its field name.

        The rows of a nested list (e.g. ``default_entries`` of a bureau report) become a flat
        table carrying the parent's key, which is how they arrive in a batch export.
        """
        if name is None:
            return self.tables[0]
        for table in self.tables:
            if table.name == name:
                return table
        for table in self.tables:
            for spec in table.fields:
                if spec.name == name and spec.items is not None and spec.items.properties:
                    # The parent's key becomes a reference: many rows may share it.
                    keys = tuple(
                        replace(f, unique=False, primary_key=False)
                        for f in table.fields
                        if f.model_use == "key"
                    )
                    return TableSpec(
                        name=name,
                        description=spec.description,
                        fields=keys + spec.items.properties,
                        retention=spec.retention,
                    )
        known = [t.name for t in self.tables]
        raise ContractError(f"contract {self.label} has no table {name!r}; tables: {known}")

    def field(self, name: str) -> FieldSpec:
        """A field of the main table by name."""
        try:
            return self.tables[0].field(name)
        except KeyError:
            raise ContractError(f"contract {self.label} lists no field {name!r}") from None

    def model_features(self) -> list[FieldSpec]:
        """Fields a creditworthiness model may use (``modelUse: allowed``)."""
        return [spec for spec in self.fields if spec.model_use == "allowed"]

    def optional_column(self, use: str) -> str | None:
        """The one field with ``modelUse`` ``use``, or None when there is none."""
        names = [spec.name for spec in self.fields if spec.model_use == use]
        if len(names) > 1:
            raise ContractError(
                f"contract {self.label} has {len(names)} fields with modelUse={use} "
                f"({', '.join(names)}), expected at most one"
            )
        return names[0] if names else None

    def protected_attributes(self) -> list[str]:
        """Fields kept aside for the fairness report (``modelUse: protected``)."""
        return [spec.name for spec in self.fields if spec.model_use == "protected"]

    def _single(self, use: str) -> str:
        names = [spec.name for spec in self.fields if spec.model_use == use]
        if len(names) != 1:
            raise ContractError(
                f"contract {self.label} has {len(names)} fields with modelUse={use}, expected one"
            )
        return names[0]

    @property
    def target_column(self) -> str:
        return self._single("target")

    @property
    def time_column(self) -> str:
        return self._single("time")

    @property
    def key_column(self) -> str:
        return self._single("key")

    def check_model_features(self, names: Iterable[str]) -> None:
        """Refuse any feature this contract does not allow for creditworthiness models."""
        violations = []
        for name in names:
            spec = next((s for s in self.fields if s.name == name), None)
            if spec is None:
                violations.append(
                    f"feature {name!r} is not allowed for creditworthiness models: "
                    f"it is not listed in contract {self.label}"
                )
            elif spec.model_use != "allowed":
                violations.append(
                    f"feature {name!r} is not allowed for creditworthiness models: "
                    f"contract {self.label}, field {name!r} has modelUse={spec.model_use}"
                )
        if violations:
            raise ForbiddenFeature(violations)


def load_contract(name: str | Path) -> Contract:
    """Load a contract by short name (``training_snapshot``) or by file path."""
    path = _locate(name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"contract file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ContractError(f"contract file {path} does not hold a YAML mapping")
    try:
        document = OpenDataContractStandard(**raw)
    except pydantic.ValidationError as exc:
        raise ContractError(f"contract file {path} is not ODCS v3: {exc}") from None
    return _contract_from_document(document, path)


def request_model(contract: Contract, *, name: str) -> type[pydantic.BaseModel]:
    """The API request model generated from the contract's main table."""
    from data_contracts.request_models import build_request_model

    return build_request_model(contract, name=name)


def validate_batch(
    df: pandas.DataFrame,
    contract: Contract,
    *,
    report_dir: Path | None = None,
    table: str | None = None,
) -> ValidationResult:
    """Validate a data frame against a contract table with Great Expectations."""
    # Imported here because Great Expectations takes seconds to import and the API never needs it.
    from data_contracts.batch_validation import validate_frame

    return validate_frame(df, contract, report_dir=report_dir, table=table)


def _locate(name: str | Path) -> Path:
    text = str(name)
    if isinstance(name, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        path = Path(name)
    else:
        path = CONTRACTS_DIR / f"{text}.odcs.yaml"
    if not path.is_file():
        known = sorted(p.name.removesuffix(".odcs.yaml") for p in CONTRACTS_DIR.glob("*.odcs.yaml"))
        raise ContractError(f"no contract {text!r} (file {path} not found); known: {known}")
    return path


def _contract_from_document(document: OpenDataContractStandard, path: Path) -> Contract:
    if not document.id or not document.version:
        raise ContractError(f"contract file {path} needs an id and a version")
    label = f"{document.id} {document.version}"
    if not document.schema_:
        raise ContractError(f"contract {label} has no schema objects")
    tables = tuple(_table(obj, label) for obj in document.schema_)
    contract_props = _custom(document.customProperties)
    retention = contract_props.get("retention")
    if retention is not None:
        _check_retention(retention, f"contract {label}")
    return Contract(
        id=document.id,
        version=document.version,
        name=document.name or document.id,
        path=path,
        tables=tables,
        retention=retention,
        document=document,
        model_name=_model_name(contract_props.get("modelName"), label),
    )


def _model_name(value: Any, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
        raise ContractError(
            f"contract {label}: modelName must be letters, digits, '.', '_' or '-', got {value!r}"
        )
    return value


def _table(obj: SchemaObject, label: str) -> TableSpec:
    if not obj.name or not obj.properties:
        raise ContractError(f"contract {label}: every schema object needs a name and properties")
    fields = tuple(_field(prop, label, obj.name) for prop in obj.properties)
    names = [f.name for f in fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ContractError(f"contract {label}, table {obj.name!r}: duplicate fields {duplicates}")
    retention = _custom(obj.customProperties).get("retention")
    if retention is not None:
        _check_retention(retention, f"contract {label}, table {obj.name!r}")
    return TableSpec(
        name=obj.name, description=obj.description or "", fields=fields, retention=retention
    )


def _field(prop: SchemaProperty, label: str, where: str) -> FieldSpec:
    place = f"contract {label}, field {where}.{prop.name}"
    if not prop.name:
        raise ContractError(f"contract {label}: a field in {where!r} has no name")
    if prop.logicalType not in LOGICAL_TYPES:
        raise ContractError(
            f"{place}: logicalType {prop.logicalType!r} is not one of {sorted(LOGICAL_TYPES)}"
        )
    custom = _custom(prop.customProperties)
    missing = [
        key
        for key in ("personalData", "purpose", "legalBasis", "modelUse", "retention")
        if key not in custom
    ]
    if missing:
        raise ContractError(f"{place} lacks custom properties {missing}")
    if not isinstance(custom["personalData"], bool):
        raise ContractError(f"{place}: personalData must be true or false")
    model_use = custom["modelUse"]
    if model_use not in MODEL_USES:
        raise ContractError(f"{place}: modelUse {model_use!r} is not one of {sorted(MODEL_USES)}")
    monotone = custom.get("monotone")
    if monotone is not None and (monotone not in MONOTONE_DIRECTIONS or model_use != "allowed"):
        raise ContractError(
            f"{place}: monotone must be increasing or decreasing, and only on allowed features"
        )
    _check_retention(custom["retention"], place)
    categorical, order, bad_value, protected = _model_properties(prop, custom, place, model_use)
    nested = tuple(_field(p, label, f"{where}.{prop.name}") for p in prop.properties or ())
    items = None
    if prop.items is not None:
        items = _item(prop.items, label, f"{where}.{prop.name}[]")
    enum_values = tuple(e.value for e in prop.enum or ())
    return FieldSpec(
        name=prop.name,
        logical_type=prop.logicalType,
        required=bool(prop.required),
        personal_data=custom["personalData"],
        purpose=str(custom["purpose"]),
        legal_basis=str(custom["legalBasis"]),
        model_use=model_use,
        monotone=monotone,
        retention=custom["retention"],
        description=prop.description or "",
        physical_type=prop.physicalType,
        primary_key=bool(prop.primaryKey),
        unique=bool(prop.unique or prop.primaryKey),
        collected=bool(custom.get("collected", True)),
        options=dict(prop.logicalTypeOptions or {}),
        enum=enum_values,
        enum_labels={e.value: e.label for e in prop.enum or () if e.label},
        examples=tuple(prop.examples or ()),
        default=custom.get("default"),
        properties=nested,
        items=items,
        categorical=categorical,
        category_order=order,
        bad_value=bad_value,
        protected=protected,
    )


def _model_properties(
    prop: SchemaProperty, custom: dict[str, Any], place: str, model_use: str
) -> tuple[bool, tuple[Any, ...], Any, bool]:
    """``categorical``, ``categoryOrder``, ``badValue`` and ``protectedAttribute``, checked."""
    categorical = custom.get("categorical", False)
    if not isinstance(categorical, bool):
        raise ContractError(f"{place}: categorical must be true or false, got {categorical!r}")
    order = custom.get("categoryOrder")
    if order is not None:
        if not isinstance(order, list) or len(order) < 2 or len(set(map(str, order))) != len(order):
            raise ContractError(
                f"{place}: categoryOrder must list at least two distinct categories, lowest "
                f"risk order first, got {order!r}"
            )
        categorical = True
    if categorical and model_use != "allowed":
        raise ContractError(f"{place}: categorical applies to model features (modelUse allowed)")
    if categorical and custom.get("monotone") is not None and order is None:
        raise ContractError(
            f"{place}: monotone on a categorical field needs categoryOrder (an order to follow)"
        )
    bad_value = custom.get("badValue")
    if bad_value is not None and model_use != "target":
        raise ContractError(f"{place}: badValue belongs on the target field (modelUse target)")
    protected = custom.get("protectedAttribute", False)
    if not isinstance(protected, bool):
        raise ContractError(f"{place}: protectedAttribute must be true or false")
    return bool(categorical), tuple(order or ()), bad_value, protected


def _item(prop: SchemaProperty, label: str, where: str) -> FieldSpec:
    """The element of an array; it inherits nothing and needs no custom properties itself."""
    nested = tuple(_field(p, label, where) for p in prop.properties or ())
    return FieldSpec(
        name=where,
        logical_type=prop.logicalType or "string",
        required=True,
        personal_data=any(p.personal_data for p in nested),
        purpose="",
        legal_basis="",
        model_use="not_applicable",
        monotone=None,
        retention="",
        options=dict(prop.logicalTypeOptions or {}),
        enum=tuple(e.value for e in prop.enum or ()),
        properties=nested,
    )


def _custom(props: list[CustomProperty] | None) -> dict[str, Any]:
    return {p.property: p.value for p in props or () if p.property}


def _check_retention(value: Any, place: str) -> None:
    if not isinstance(value, str) or not (value in RETENTION_RULES or _ISO_DURATION.match(value)):
        raise ContractError(
            f"{place}: retention {value!r} is neither an ISO 8601 duration (e.g. P3Y) nor one of "
            f"the named rules {sorted(RETENTION_RULES)}"
        )
