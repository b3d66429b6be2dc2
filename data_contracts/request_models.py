"""Pydantic request models generated from a contract, so the OpenAPI schema is the contract.

Unknown fields are refused, types are strict, bounds, patterns and enums come from the
contract, and no value of a personal-data field ever appears in a validation error.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import InitErrorDetails, PydanticCustomError

from data_contracts.loader import Contract, ContractError, FieldSpec
from scoring.domain.personal_code import OPENAPI_FORMAT as PERSONAL_CODE_FORMAT
from scoring.domain.personal_code import InvalidPersonalCode
from scoring.domain.personal_code import parse as parse_personal_code

_REDACTED = "<redacted: personal data>"
_CODE_LIKE = re.compile(r"[0-9]{11}")
_SCALARS: dict[str, type] = {
    "string": str,
    "number": float,
    "integer": int,
    "boolean": bool,
}


def build_request_model(contract: Contract, *, name: str) -> type[BaseModel]:
    """Build the request model for the contract's main table."""
    table = contract.table()
    personal_paths = _personal_paths(table.fields)
    base = _redacting_base(name, personal_paths, contract.label)
    model = _object_model(name, table.fields, contract, base=base)
    model.__doc__ = table.description or contract.name
    return model


def _object_model(
    name: str, fields: tuple[FieldSpec, ...], contract: Contract, *, base: type[BaseModel]
) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for spec in fields:
        if not spec.collected:
            continue  # listed only to be refused; extra="forbid" refuses it by name
        definitions[spec.name] = (_annotation(name, spec, contract), _field_info(spec))
    return create_model(name, __base__=base, **definitions)


def _annotation(owner: str, spec: FieldSpec, contract: Contract) -> Any:
    if spec.logical_type == "object":
        nested_base = _plain_base(f"{owner}{_camel(spec.name)}")
        annotation: Any = _object_model(
            f"{owner}{_camel(spec.name)}", spec.properties, contract, base=nested_base
        )
    elif spec.logical_type == "array":
        if spec.items is None:
            raise ContractError(
                f"contract {contract.label}: array field {spec.name!r} has no items"
            )
        annotation = list[_annotation(owner, spec.items, contract)]  # type: ignore[misc]
    elif spec.enum:
        annotation = Literal[tuple(spec.enum)]
    elif spec.logical_type == "integer":
        # JSON Schema counts 12.0 as an integer; strict mode would refuse it as a float.
        annotation = Annotated[int, BeforeValidator(_integral_float_as_int)]
    elif spec.logical_type in _SCALARS:
        annotation = _SCALARS[spec.logical_type]
    elif spec.logical_type == "date":
        annotation = Annotated[dt.date, Field(strict=False)]
    elif spec.logical_type == "timestamp":
        annotation = Annotated[dt.datetime, Field(strict=False)]
    else:
        raise ContractError(
            f"contract {contract.label}: field {spec.name!r} has logicalType "
            f"{spec.logical_type!r}, which a request model cannot carry"
        )
    if spec.name == "personal_code":
        annotation = Annotated[annotation, AfterValidator(_valid_personal_code)]
    if not spec.required:
        annotation = annotation | None
    return annotation


def _field_info(spec: FieldSpec) -> Any:
    constraints: dict[str, Any] = {}
    for option, keyword in (
        ("minimum", "ge"),
        ("maximum", "le"),
        ("exclusiveMinimum", "gt"),
        ("exclusiveMaximum", "lt"),
        ("multipleOf", "multiple_of"),
        ("minLength", "min_length"),
        ("maxLength", "max_length"),
        ("pattern", "pattern"),
        ("minItems", "min_length"),
        ("maxItems", "max_length"),
    ):
        if option in spec.options:
            constraints[keyword] = spec.options[option]
    if spec.required:
        default: Any = ...
    else:
        default = spec.default
    extra: JsonDict = {
        "x-personal-data": spec.personal_data,
        "x-purpose": spec.purpose,
        "x-legal-basis": spec.legal_basis,
        "x-model-use": spec.model_use,
        "x-retention": spec.retention,
    }
    if spec.name == "personal_code":
        extra["format"] = PERSONAL_CODE_FORMAT
    return Field(
        default,
        description=spec.description or None,
        examples=list(spec.examples) or None,
        json_schema_extra=extra,
        **constraints,
    )


def _integral_float_as_int(value: Any) -> Any:
    """12.0 is the integer 12 (as JSON Schema says); 12.5, "12" and true stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _valid_personal_code(text: str) -> str:
    try:
        parse_personal_code(text)
    except InvalidPersonalCode as exc:
        # The domain message never repeats the code, so it is safe to pass on.
        raise PydanticCustomError("personal_code", str(exc)) from None
    return text


def _plain_base(name: str) -> type[BaseModel]:
    return type(
        f"_{name}Base",
        (BaseModel,),
        {"model_config": ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)},
    )


def _redacting_base(name: str, personal_paths: set[str], label: str) -> type[BaseModel]:
    """A base model that strips the input of personal-data fields from validation errors."""

    def redact(cls: type[BaseModel], data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except pydantic.ValidationError as exc:
            errors = []
            for error in exc.errors():
                loc = error["loc"]
                if error["type"] == "extra_forbidden" and _CODE_LIKE.search(str(loc[-1])):
                    # An unknown field named by a personal code: name it without the code.
                    loc = (*loc[:-1], _REDACTED)
                path = ".".join(str(part) for part in loc if not isinstance(part, int))
                details: InitErrorDetails = {
                    "type": PydanticCustomError(
                        error["type"], "{detail}", {"detail": error["msg"]}
                    ),
                    "loc": loc,
                    "input": error["input"],
                }
                # The whole body (empty path) or a personal field: never echo the value back.
                if path == "" or any(path == p or path.startswith(p + ".") for p in personal_paths):
                    details["input"] = _REDACTED
                if error["type"] == "extra_forbidden":
                    details["type"] = PydanticCustomError(
                        "extra_forbidden",
                        "field {field} is not listed in contract {contract} and is refused",
                        {"field": path, "contract": label},
                    )
                errors.append(details)
            raise pydantic.ValidationError.from_exception_data(
                exc.title, errors, hide_input=True
            ) from None

    base = _plain_base(name)
    validator = model_validator(mode="wrap")(redact)
    return type(f"_{name}Redacting", (base,), {"_redact_personal_data": validator})


def _personal_paths(fields: tuple[FieldSpec, ...], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for spec in fields:
        path = f"{prefix}{spec.name}"
        if spec.personal_data:
            paths.add(path)
        paths |= _personal_paths(spec.properties, prefix=path + ".")
    return paths


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
