"""Customer letters in Estonian and English, rendered from templates kept beside this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from scoring.domain.counterfactual import Counterfactual
from scoring.domain.reasons import Reason

LANGUAGES = ("et", "en")

PRODUCT_LABELS = {
    "heat_pump": {"et": "soojuspump", "en": "a heat pump"},
    "solar_panels": {"et": "päikesepaneelid", "en": "solar panels"},
    "electronics": {"et": "elektroonika", "en": "electronics"},
    "phone": {"et": "telefon", "en": "a phone"},
    "smart_home": {"et": "targa kodu seadmed", "en": "smart-home equipment"},
    "home_appliance": {"et": "kodumasin", "en": "a home appliance"},
}
_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class BureauConsulted:
    name: str
    report_id: str
    requested_on: date
    risk_class: str
    class_label_et: str
    class_label_en: str
    class_text_et: str
    class_text_en: str


@dataclass(frozen=True)
class DecisionLetter:
    """What a decline or refer letter says; no personal data beyond what the customer gave."""

    decision_id: str
    decided_on: date
    outcome: str
    automated: bool
    amount_eur: float
    term_months: int
    product_category: str
    reasons: list[Reason]
    bureau: BureauConsulted | None
    counterfactual: Counterfactual | None
    contest_until: date
    contest_url: str
    company_name: str = "the company"
    rights: list[str] = field(default_factory=list)
    # For a refer or pending review: the open case, when it is due, where to add a statement,
    # and why a person decides (the routing reason's code).
    review_id: str | None = None
    review_due_on: date | None = None
    statement_url: str | None = None
    route: str | None = None
    # Why no change would have helped, when none would (scoring.domain.counterfactual).
    no_counterfactual_et: str | None = None
    no_counterfactual_en: str | None = None


# Each language's forms (CLDR, through Babel): 2 400,00 € and 22.11.2026 in Estonian,
# €2,400.00 and 22 November 2026 in English.
_LOCALES = {"et": "et_EE", "en": "en_IE"}
_DATE_PATTERNS = {"et": "dd.MM.yyyy", "en": "d MMMM yyyy"}


# Every answer's notice and letters format a few amounts and dates; Babel parses the locale
# and the pattern on each call, so each distinct value is formatted once per language.
@lru_cache(maxsize=4096)
def money(amount: float, language: str) -> str:
    """An amount in euros in the language's form."""
    return format_currency(amount, "EUR", locale=_LOCALES[language])


@lru_cache(maxsize=4096)
def day(value: date, language: str) -> str:
    """A date in the language's form."""
    return format_date(value, _DATE_PATTERNS[language], locale=_LOCALES[language])


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # plain-text letters; the web UI escapes when it shows them
    )
    environment.filters["money"] = money
    environment.filters["day"] = day
    return environment


def render_decision_letter(letter: DecisionLetter, *, language: str) -> str:
    """The letter for a decline, a refer or a pending review in one language (``et`` or ``en``).

    A refer or pending review is written only with its open case: the letter promises who
    decides and by when, and says where the customer may add a statement.
    """
    if language not in LANGUAGES:
        raise ValueError(f"letters exist in {', '.join(LANGUAGES)}, not {language!r}")
    if letter.outcome not in ("decline", "refer", "pending_review"):
        raise ValueError(
            "a decision letter is written for decline, refer or pending_review, "
            f"not {letter.outcome}"
        )
    if letter.outcome != "decline" and (letter.review_id is None or letter.review_due_on is None):
        raise ValueError(f"a {letter.outcome} letter needs the open review case and its due date")
    template = _environment().get_template(f"decision_{language}.txt.j2")
    product = PRODUCT_LABELS.get(letter.product_category, {}).get(
        language, letter.product_category.replace("_", " ")
    )
    return template.render(letter=letter, product=product)


# How a decision was reached, as the notice says it (AI Act Art. 26(11); CCD2 Art. 18).
NOTICE_MODES = ("automated", "referred", "person_routed", "person")


@dataclass(frozen=True)
class AutomationNotice:
    """The notice the sales system shows with every answer: whether the assessment was
    automated, which data it used, and how to ask for a person."""

    mode: str
    bureau_name: str | None
    bureau_answered: bool
    contest_url: str | None
    contest_until: date | None
    review_id: str | None


def render_notice(notice: AutomationNotice, *, language: str) -> str:
    """The notice of a decision in one language (``et`` or ``en``)."""
    if language not in LANGUAGES:
        raise ValueError(f"notices exist in {', '.join(LANGUAGES)}, not {language!r}")
    if notice.mode not in NOTICE_MODES:
        raise ValueError(f"a notice is one of {', '.join(NOTICE_MODES)}, not {notice.mode!r}")
    template = _environment().get_template(f"notice_{language}.txt.j2")
    return template.render(notice=notice).strip()
