"""Pseudonyms: the only form in which a person's code is kept."""

from __future__ import annotations

from datetime import date

import pytest

from scoring.domain.personal_code import InvalidPersonalCode, build
from scoring.domain.pseudonym import pseudonymise

KEY = b"k" * 32
CODE = build(date(1984, 2, 29), female=True, serial=123)


def test_the_same_person_always_gets_the_same_pseudonym() -> None:
    assert pseudonymise(CODE, key=KEY) == pseudonymise(CODE, key=KEY)


def test_a_pseudonym_is_a_sha256_hex_digest_that_does_not_contain_the_code() -> None:
    pseudonym = pseudonymise(CODE, key=KEY)

    assert len(pseudonym) == 64
    assert set(pseudonym) <= set("0123456789abcdef")
    assert CODE not in pseudonym


def test_pseudonyms_are_stable_across_releases_because_stored_history_is_joined_on_them() -> None:
    assert pseudonymise("38001085718", key=bytes(range(32))) == (
        "c28a693961ec9a16469ef748a70ab7831f989430736fb3955cdc658b3935e51f"
    )


def test_another_key_gives_unrelated_pseudonyms() -> None:
    assert pseudonymise(CODE, key=KEY) != pseudonymise(CODE, key=b"x" * 32)


def test_different_people_get_different_pseudonyms() -> None:
    other = build(date(1984, 2, 29), female=True, serial=124)

    assert pseudonymise(CODE, key=KEY) != pseudonymise(other, key=KEY)


@pytest.mark.parametrize(
    "text",
    ["", "4840229123", "48402291230x", "94840229123", "48402301234", "48402291230"],
    ids=["empty", "short", "letters", "century-digit", "impossible-date", "check-digit"],
)
def test_an_invalid_code_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(InvalidPersonalCode) as refused:
        pseudonymise(text, key=KEY)

    assert not text or text not in str(refused.value)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonymise(CODE, key=b"short")
