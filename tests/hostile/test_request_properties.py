"""Properties of the request model and the personal-code validator under any input.

A decision request is either accepted with every value inside the contract's bounds, or
refused with a ``ValidationError`` whose every problem names a field, and whose text never
holds a personal identification code, wherever in the body the code was sent.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.requests import DecisionRequest
from scoring.domain import personal_code
from scoring.domain.personal_code import InvalidPersonalCode

CATEGORIES = {"heat_pump", "solar_panels", "electronics", "phone", "smart_home", "home_appliance"}
CHANNELS = {"web", "store", "phone"}
APPLICATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}\Z")
ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")
FIELDS = ["application_id", "personal_code", "purchase", "channel", "human_review_requested"]
PURCHASE_FIELDS = ["amount_eur", "term_months", "product_category"]

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

birth_dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2199, 12, 31))
valid_codes = st.builds(
    lambda born, female, serial: personal_code.build(born, female=female, serial=serial),
    birth_dates,
    st.booleans(),
    st.integers(0, 999),
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
    | valid_codes
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12) | st.sampled_from(FIELDS + PURCHASE_FIELDS), inner,
                      max_size=4),
    max_leaves=12,
)  # fmt: skip


def valid_body(code: str) -> dict[str, Any]:
    return {
        "application_id": "APP-2026-000123",
        "personal_code": code,
        "purchase": {"amount_eur": 1499.0, "term_months": 24, "product_category": "heat_pump"},
        "channel": "web",
    }


@st.composite
def near_valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with one to three fields dropped, replaced, added or put out of bounds."""
    body = valid_body(draw(valid_codes))
    for _ in range(draw(st.integers(1, 3))):
        target = body
        fields = FIELDS
        if draw(st.booleans()) and isinstance(body.get("purchase"), dict):
            target, fields = body["purchase"], PURCHASE_FIELDS
        name = draw(st.sampled_from(fields))
        change = draw(st.sampled_from(["drop", "replace", "boundary", "unknown", "code"]))
        if change == "drop":
            target.pop(name, None)
        elif change == "replace":
            target[name] = draw(json_values)
        elif change == "boundary":
            target[name] = draw(
                st.sampled_from(
                    [
                        0,
                        -0.0,
                        0.001,
                        2,
                        3,
                        60,
                        61,
                        50_000,
                        50_000.01,
                        1e308,
                        -1,
                        True,
                        "12",
                        "",
                        " ",
                        "a" * 65,
                        "ab",
                        "APP\n123",
                        "APP-001\n",
                        "٣٨٠٠١٠٨٥٧١٨",
                    ]
                )  # fmt: skip
            )
        elif change == "unknown":
            target[draw(st.text(min_size=1, max_size=12) | valid_codes)] = draw(json_values)
        else:
            target[name] = draw(valid_codes)
    return body


def codes_in(value: Any) -> set[str]:
    """Every valid personal code inside ``value``, in keys or values, however deep."""
    text = json.dumps(value, ensure_ascii=False)
    return {m for m in ELEVEN_DIGITS.findall(text) if personal_code.is_valid(m)}


def check_request(body: Any) -> None:
    try:
        request = DecisionRequest.model_validate(body)
    except pydantic.ValidationError as error:
        problems = error.errors(include_input=False)
        assert problems
        for problem in problems:
            assert problem["loc"], f"a problem names no field: {problem}"
        shown = str(error) + json.dumps(problems, default=str)
        leaked = {code for code in codes_in(body) if code in shown}
        assert not leaked, "a personal code appears in the validation error"
        return
    assert APPLICATION_ID.match(request.application_id)
    assert personal_code.is_valid(request.personal_code)
    assert 0 < request.purchase.amount_eur <= 50_000
    assert 3 <= request.purchase.term_months <= 60
    assert request.purchase.product_category in CATEGORIES
    assert request.channel in CHANNELS
    assert request.human_review_requested in (True, False, None)


@PROPERTY_SETTINGS
@given(st.dictionaries(st.text(max_size=20) | st.sampled_from(FIELDS), json_values, max_size=8))
def test_any_json_object_is_accepted_within_bounds_or_refused_by_field(body):
    check_request(body)


@PROPERTY_SETTINGS
@given(near_valid_bodies())
def test_near_valid_requests_are_accepted_within_bounds_or_refused_by_field(body):
    check_request(body)


@given(valid_codes)
def test_a_valid_body_with_any_valid_code_is_accepted(code):
    request = DecisionRequest.model_validate(valid_body(code))
    assert request.personal_code == code


@PROPERTY_SETTINGS
@given(st.text(max_size=24) | st.from_regex(r"[0-9]{11}", fullmatch=True))
def test_the_code_validator_accepts_or_raises_only_invalid_personal_code(text):
    try:
        parsed = personal_code.parse(text)
    except InvalidPersonalCode as error:
        assert not ELEVEN_DIGITS.search(str(error))
        return
    # Accepted text is exactly a code the builder makes for its own birth date and sex.
    assert re.fullmatch(r"[1-8][0-9]{10}", text)
    rebuilt = personal_code.build(
        parsed.birth_date, female=int(text[0]) % 2 == 0, serial=int(text[7:10])
    )
    assert rebuilt == text


@PROPERTY_SETTINGS
@given(valid_codes, st.sampled_from(["\n", " ", "\t", "\u00a0", "0"]), st.booleans())
def test_a_valid_code_with_anything_around_it_is_refused(code, extra, before):
    assert not personal_code.is_valid(extra + code if before else code + extra)


@PROPERTY_SETTINGS
@given(valid_codes)
def test_a_code_in_other_digits_than_ascii_is_refused(code):
    for zero in ("\u0660", "\uff10", "\u0966"):  # Arabic-Indic, full-width, Devanagari
        foreign = code[0] + "".join(chr(ord(zero) + int(d)) for d in code[1:])
        assert not personal_code.is_valid(foreign)


@PROPERTY_SETTINGS
@given(valid_codes)
def test_every_valid_code_round_trips(code):
    parsed = personal_code.parse(code)
    assert parsed.value == code
    assert code not in repr(parsed)
    female = int(code[0]) % 2 == 0
    assert personal_code.build(parsed.birth_date, female=female, serial=int(code[7:10])) == code
