"""Attributes that may never be creditworthiness features, whatever a data contract says.

A user's contract cannot be relied on to forbid them: a field is refused as a model input when
its name reads as one of these attributes or when its contract marks it protected
(``protectedAttribute: true`` or ``modelUse: protected``). The list follows the grounds of
discrimination of the EU Charter of Fundamental Rights Art. 21, the Consumer Credit Directive
(EU) 2023/2225 Art. 6, and the special categories of GDPR Art. 9. Such a field may still be
kept in a snapshot as ``modelUse: protected``: then it is a group for the fairness report,
never an input (the only override, and the documented one).

Age is not on the list: a lender may weigh it where actuarially justified (CCD2 recital 29),
so it is a fairness group by choice, not a refusal. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ProtectedAttribute:
    """One ground of discrimination and the name parts that reveal it."""

    ground: str
    law: str
    words: tuple[str, ...]


PROTECTED_ATTRIBUTES: tuple[ProtectedAttribute, ...] = (
    ProtectedAttribute(
        "sex or gender",
        "Charter Art. 21, CCD2 Art. 6",
        ("sex", "gender", "male", "female", "pregnant", "pregnancy"),
    ),
    ProtectedAttribute(
        "marital or family status",
        "Charter Art. 21 (sex, birth), CCD2 Art. 6",
        ("marital", "married", "spouse", "personal_status", "civil_status"),
    ),
    ProtectedAttribute(
        "nationality or foreign-worker status",
        "TFEU Art. 18, CCD2 Art. 6",
        (
            "nationality",
            "citizenship",
            "citizen",
            "foreign",
            "foreigner",
            "foreign_worker",
            "immigrant",
            "migrant",
            "country_of_birth",
        ),
    ),
    ProtectedAttribute(
        "racial or ethnic origin",
        "Charter Art. 21, GDPR Art. 9",
        (
            "race",
            "racial",
            "ethnic",
            "ethnicity",
            "skin_colour",
            "skin_color",
            "national_minority",
            "minority",
        ),
    ),
    ProtectedAttribute(
        "religion or belief",
        "Charter Art. 21, GDPR Art. 9",
        ("religion", "religious", "belief", "faith", "church"),
    ),
    ProtectedAttribute(
        "health or disability",
        "Charter Art. 21, GDPR Art. 9",
        ("health", "disability", "disabled", "handicap", "medical", "illness"),
    ),
    ProtectedAttribute(
        "sexual orientation", "Charter Art. 21, GDPR Art. 9", ("sexual_orientation", "sexuality")
    ),
    ProtectedAttribute(
        "political opinion or trade-union membership",
        "GDPR Art. 9",
        ("political", "politics", "party_member", "trade_union", "union_member"),
    ),
    ProtectedAttribute("genetic or biometric data", "GDPR Art. 9", ("genetic", "biometric")),
    ProtectedAttribute(
        "language", "Charter Art. 21, CCD2 Art. 6", ("language", "mother_tongue", "native_language")
    ),
)

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(_CAMEL.sub("_", name).lower()) if w]


def protected_ground(name: str) -> ProtectedAttribute | None:
    """The protected ground a column name reveals, or None.

    A name matches when one of a ground's words (single or joined by ``_``) appears in it as
    whole words: ``personal_status_and_sex`` and ``ForeignWorker`` match, ``sextant`` and
    ``essex_branch`` do not.
    """
    words = _words(name)
    joined = "_" + "_".join(words) + "_"
    for attribute in PROTECTED_ATTRIBUTES:
        for word in attribute.words:
            if f"_{word}_" in joined:
                return attribute
    return None


def refusal(name: str, *, marked_protected: bool = False) -> str | None:
    """Why ``name`` may not be a creditworthiness feature, or None when nothing forbids it."""
    ground = protected_ground(name)
    if ground is not None:
        return (
            f"feature {name!r} reads as {ground.ground} ({ground.law}), which may never be a "
            "creditworthiness feature; keep it as modelUse: protected for the fairness report"
        )
    if marked_protected:
        return (
            f"feature {name!r} is marked a protected attribute in its contract and may never be "
            "a creditworthiness feature; keep it as modelUse: protected for the fairness report"
        )
    return None
