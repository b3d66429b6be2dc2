"""Estonian personal identification code (isikukood): validation, parsing and generation.

Layout ``GYYMMDDSSSC``: G encodes century and sex (1/2 1800s, 3/4 1900s, 5/6 2000s,
7/8 2100s; odd male, even female), YYMMDD the birth date, SSS a serial and C a
checksum over the first ten digits (weights 1..9,1; if that gives 10, weights
3..9,1,2,3; if that gives 10 again, 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from scoring.domain.errors import InvalidInputError

_WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)
_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000, 7: 2100, 8: 2100}
# ASCII digits only, the whole text (``\d`` takes any script's digits, ``$`` a final newline).
_SHAPE = re.compile(r"[1-8][0-9]{10}")
# The OpenAPI ``format`` of a personal code: the pattern gives the shape, the format says
# that the birth date must exist and the checksum hold (a 422 ``invalid_personal_code`` if
# not), so a client or a fuzzer generating codes knows to compute them (``build``).
OPENAPI_FORMAT = "ee-personal-code"
# Eleven digits in a row may be a personal code, unless they sit inside a UUID (the product's
# decision and case ids), whose hex groups hold eleven digits about once in 130 ids.
_CODE_LIKE = re.compile(
    r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|[0-9]{11}"
)


class InvalidPersonalCode(InvalidInputError, ValueError):
    """The text is not a valid Estonian personal identification code.

    The message never repeats the code itself, so it is safe to log and return.
    """


@dataclass(frozen=True)
class PersonalCode:
    value: str
    birth_date: date

    def age_on(self, day: date) -> int:
        """Completed years of age on ``day``."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def __repr__(self) -> str:  # never print the code itself
        return "PersonalCode(<redacted>)"


def redact_codes(text: str, mark: str = "<redacted>") -> str:
    """``text`` with every run of eleven digits that may be a personal code replaced by ``mark``."""
    return _CODE_LIKE.sub(lambda found: found.group("uuid") or mark, text)


def checksum(first_ten: str) -> int:
    """The check digit for the first ten digits of a code."""
    digits = [int(ch) for ch in first_ten]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS_1, strict=True)) % 11
    if total < 10:
        return total
    total = sum(d * w for d, w in zip(digits, _WEIGHTS_2, strict=True)) % 11
    return total if total < 10 else 0


def parse(text: str) -> PersonalCode:
    """Validate ``text`` as a personal code and return it with its birth date."""
    if not isinstance(text, str) or not _SHAPE.fullmatch(text):
        raise InvalidPersonalCode(
            "personal identification code must be 11 digits starting with 1-8"
        )
    century = _CENTURY[int(text[0])]
    try:
        born = date(century + int(text[1:3]), int(text[3:5]), int(text[5:7]))
    except ValueError:
        raise InvalidPersonalCode(
            "personal identification code holds an impossible birth date"
        ) from None
    if checksum(text[:10]) != int(text[10]):
        raise InvalidPersonalCode("personal identification code has a wrong check digit")
    return PersonalCode(value=text, birth_date=born)


_CANDIDATES = re.compile(r"(?=([1-8][0-9]{10}))")


def contains_code(text: str) -> bool:
    """True when ``text`` holds a valid personal code anywhere (e.g. inside an identifier)."""
    return any(is_valid(match.group(1)) for match in _CANDIDATES.finditer(text))


def is_valid(text: str) -> bool:
    """True when ``text`` is a valid personal code."""
    try:
        parse(text)
    except InvalidPersonalCode:
        return False
    return True


def build(birth_date: date, *, female: bool, serial: int) -> str:
    """Compose a valid code for a birth date, sex digit and serial (0-999)."""
    if not 0 <= serial <= 999:
        raise ValueError("serial must be between 0 and 999")
    base = {1800: 1, 1900: 3, 2000: 5, 2100: 7}[birth_date.year // 100 * 100]
    first = base + (1 if female else 0)
    head = f"{first}{birth_date:%y%m%d}{serial:03d}"
    return head + str(checksum(head))
