"""Customer letters in Estonian and English, rendered from templates kept beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from data_contracts.feature_catalogue import feature_catalogue
from scoring.domain.contact import ContactChannels
from scoring.domain.counterfactual import Counterfactual
from scoring.domain.reasons import Reason
from scoring.features.catalogue import PRODUCT_CATEGORY_CODE

LANGUAGES = ("et", "en")

_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class BureauConsulted:
    name: str
    report_id: str
    requested_on: date
    risk_class: str
    class_label_et: str
    class_label_en: str
    # What the class means, addressed to the customer ("the bureau estimates ...").
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
    # How the customer contests, adds a statement or asks for a person (configured channels).
    contact: ContactChannels
    # For a refer or pending review: the open case, when it is due, whether the customer may
    # still add a statement, and why a person decides (the routing reason's code).
    review_id: str | None = None
    review_due_on: date | None = None
    statement_open: bool = False
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


def product_label(category: str, language: str) -> str:
    """The product's name as the feature catalogue gives it ("heat pump", "soojuspump")."""
    code = PRODUCT_CATEGORY_CODE.get(category)
    if code is None:
        return category.replace("_", " ")
    return feature_catalogue()["product_category_code"].display(code, language)


def application_input(value: object, name: str, language: str) -> str:
    """A model input the letter names, "label value unit" as the feature catalogue has it."""
    if name == "product_category":
        entry = feature_catalogue()["product_category_code"]
        return f"{entry.label(language).lower()} {product_label(str(value), language)}"
    entry = feature_catalogue()[name]
    return f"{entry.label(language).lower()} {entry.display(value, language)}"


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
    environment.filters["input"] = application_input
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
    product = product_label(letter.product_category, language)
    codes = {reason.code for reason in letter.reasons}
    return template.render(letter=letter, product=product, codes=codes)


# How a decision was reached, as the notice says it (AI Act Art. 26(11); CCD2 Art. 18).
NOTICE_MODES = ("automated", "referred", "person_routed", "person")


@dataclass(frozen=True)
class AutomationNotice:
    """The notice the sales system shows with every answer: whether the assessment was
    automated, which data it used, and how to ask for a person."""

    mode: str
    bureau_name: str | None
    bureau_answered: bool
    # Set while the decision may be contested: until when, and its reference.
    contest_until: date | None
    decision_id: str
    review_id: str | None
    contact: ContactChannels


def render_notice(notice: AutomationNotice, *, language: str) -> str:
    """The notice of a decision in one language (``et`` or ``en``)."""
    if language not in LANGUAGES:
        raise ValueError(f"notices exist in {', '.join(LANGUAGES)}, not {language!r}")
    if notice.mode not in NOTICE_MODES:
        raise ValueError(f"a notice is one of {', '.join(NOTICE_MODES)}, not {notice.mode!r}")
    template = _environment().get_template(f"notice_{language}.txt.j2")
    return template.render(notice=notice).strip()
