"""The Estonian personal identification code: what is valid, what is refused, and why."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.domain import personal_code
from scoring.domain.personal_code import InvalidPersonalCode


def test_a_published_example_code_is_valid():
    # 37605030299 is the example the Estonian police and border guard use in their documentation.
    parsed = personal_code.parse("37605030299")
    assert parsed.birth_date == date(1976, 5, 3)


def test_the_second_weight_set_is_used_when_the_first_gives_ten():
    weights_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)
    head = next(
        f"3{n:09d}"
        for n in range(10**6)
        if sum(int(d) * w for d, w in zip(f"3{n:09d}", weights_1, strict=True)) % 11 == 10
    )
    weights_2 = (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)
    expected = sum(int(d) * w for d, w in zip(head, weights_2, strict=True)) % 11
    assert personal_code.checksum(head) == (expected if expected < 10 else 0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("3760503029", "11 digits"),
        ("376050302999", "11 digits"),
        ("97605030299", "11 digits starting with 1-8"),
        ("3760503029x", "11 digits"),
        ("37613030299", "impossible birth date"),
        ("37602300291", "impossible birth date"),
        ("37605030298", "check digit"),
    ],
)
def test_invalid_codes_are_refused_with_the_reason(text, problem):
    with pytest.raises(InvalidPersonalCode, match=problem) as refused:
        personal_code.parse(text)
    assert text not in str(refused.value)


def test_a_code_is_never_shown_in_its_repr():
    assert "37605030299" not in repr(personal_code.parse("37605030299"))


def test_age_counts_completed_years():
    parsed = personal_code.parse(personal_code.build(date(2008, 11, 23), female=True, serial=1))
    assert parsed.age_on(date(2026, 11, 22)) == 17
    assert parsed.age_on(date(2026, 11, 23)) == 18


birth_dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2199, 12, 31))


@given(born=birth_dates, female=st.booleans(), serial=st.integers(0, 999))
def test_built_codes_parse_back_to_their_birth_date_and_sex(born, female, serial):
    code = personal_code.build(born, female=female, serial=serial)
    assert personal_code.parse(code).birth_date == born
    assert (int(code[0]) % 2 == 0) == female


@given(born=birth_dates, serial=st.integers(0, 999), shift=st.integers(1, 9))
def test_a_mistyped_check_digit_is_detected(born, serial, shift):
    code = personal_code.build(born, female=False, serial=serial)
    altered = code[:10] + str((int(code[10]) + shift) % 10)
    assert not personal_code.is_valid(altered)


@given(st.text(max_size=20))
def test_arbitrary_text_never_crashes_the_validator(text):
    assert personal_code.is_valid(text) in (True, False)


def test_eleven_digits_are_redacted_from_a_message_but_a_uuid_is_kept_whole():
    # The last group of this id holds eleven digits in a row, as about one id in 130 does.
    decision = "01a24fca-523a-7f76-bfb6-13357675914d"
    message = f"decision {decision} was replaced; 37605030299 and x37605030299y are codes"

    redacted = personal_code.redact_codes(message)

    assert redacted == (f"decision {decision} was replaced; <redacted> and x<redacted>y are codes")


@given(st.uuids())
def test_no_uuid_is_ever_redacted(uuid):
    assert personal_code.redact_codes(f"case {uuid} closed") == f"case {uuid} closed"
