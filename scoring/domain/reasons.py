"""Reason codes: stable codes with plain-language texts in Estonian and English.

Model reasons group features by the factor a customer recognises (late payments,
bureau rating, instalment size) and rank factors by their summed adverse SHAP
contribution in log-odds. Policy reasons name the rule that fired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_REASONS = 4


@dataclass(frozen=True)
class ReasonText:
    code: str
    text_et: str
    text_en: str


@dataclass(frozen=True)
class Factor:
    reason: ReasonText
    features: tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    code: str
    text_et: str
    text_en: str
    contribution: float | None  # summed log-odds contribution; None for policy reasons
    kind: str  # "model" or "policy"


FACTORS: tuple[Factor, ...] = (
    Factor(
        ReasonText(
            "R01_RECENT_LATE_PAYMENTS",
            "Meie hiljutised arved on tasutud hilinemisega või on praegu tasumata.",
            "Recent invoices from us were paid late or are overdue now.",
        ),
        ("max_dpd_3m", "max_dpd_6m", "current_dpd"),
    ),
    Factor(
        ReasonText(
            "R02_LATE_PAYMENT_HISTORY",
            "Viimase kahe aasta jooksul on meie arveid tasutud hilinemisega.",
            "Invoices from us were paid late during the past two years.",
        ),
        (
            "max_dpd_12m",
            "max_dpd_24m",
            "mean_dpd_12m",
            "late_payments_12m",
            "late_payments_24m",
            "months_since_last_late_payment",
        ),
    ),
    Factor(
        ReasonText(
            "R03_REMINDERS_AND_COLLECTION",
            "Teile on saadetud maksemeeldetuletusi või on võlg antud üle inkassole.",
            "Payment reminders were sent to you or a debt was passed to collection.",
        ),
        ("reminders_12m", "collections_24m"),
    ),
    Factor(
        ReasonText(
            "R04_OUTSTANDING_BALANCE",
            "Teil on meie ees tasumata võlgnevus.",
            "You have an unpaid balance with us.",
        ),
        ("current_balance_eur", "max_balance_12m_eur"),
    ),
    Factor(
        ReasonText(
            "R05_SHORT_HISTORY",
            "Meil on teie maksete kohta lühike ajalugu või see puudub.",
            "We hold a short payment history for you, or none.",
        ),
        ("tenure_months", "thin_file", "invoice_count_24m"),
    ),
    Factor(
        ReasonText(
            "R06_BUREAU_RATING",
            "Krediidibüroo hinnang teie maksekäitumisele.",
            "The credit bureau's rating of your payment behaviour.",
        ),
        ("bureau_score", "bureau_class_rank"),
    ),
    Factor(
        ReasonText(
            "R07_BUREAU_DEFAULTS",
            "Krediidibüroos on registreeritud teie varasemaid maksehäireid.",
            "Earlier payment defaults of yours are registered with the credit bureau.",
        ),
        ("bureau_open_defaults", "bureau_closed_defaults"),
    ),
    Factor(
        ReasonText(
            "R08_INSTALMENT_SIZE",
            "Kuumakse on teie tavapäraste arvetega võrreldes suur.",
            "The monthly instalment is large compared with your usual bills.",
        ),
        ("amount_eur", "monthly_instalment_eur", "instalment_to_avg_invoice"),
    ),
    Factor(
        ReasonText(
            "R09_TERM",
            "Järelmaksu periood.",
            "The length of the instalment plan.",
        ),
        ("term_months",),
    ),
    Factor(
        ReasonText(
            "R10_PRODUCT",
            "Järelmaksuga ostetava toote liik.",
            "The kind of product bought in instalments.",
        ),
        ("product_category_code",),
    ),
    Factor(
        ReasonText(
            "R11_PAYMENT_PATTERN",
            "Arveid on tasutud osade kaupa, mitte korraga.",
            "Invoices were paid in parts rather than in full.",
        ),
        ("partial_payment_share_12m", "avg_invoice_eur_12m"),
    ),
    Factor(
        ReasonText(
            "R12_PAYMENT_TIMING",
            "Viimase aasta jooksul on meie arved tasutud maksetähtaja lähedal või pärast seda, "
            "mitte varakult.",
            "During the past year invoices from us were paid close to or after the due date "
            "rather than early.",
        ),
        ("pay_margin_mean_12m",),
    ),
)

POLICY_REASONS: dict[str, ReasonText] = {
    r.code: r
    for r in (
        ReasonText(
            "P01_BUREAU_OPEN_DEFAULT",
            "Krediidibüroos on registreeritud lõpetamata maksehäire.",
            "An open payment default is registered with the credit bureau.",
        ),
        ReasonText(
            "P02_INTERNAL_ARREARS",
            "Meie arve tasumisega on hilinetud üle {days} päeva.",
            "An invoice from us is more than {days} days overdue.",
        ),
        ReasonText(
            "P03_UNDER_MINIMUM_AGE",
            "Järelmaksu saavad taotleda ainult vähemalt {age}-aastased.",
            "Instalment plans are available only to people aged {age} or over.",
        ),
        ReasonText(
            "P04_AMOUNT_ABOVE_PRODUCT_LIMIT",
            "Summa ületab selle toote järelmaksu piirmäära {limit} eurot.",
            "The amount is above this product's instalment limit of {limit} EUR.",
        ),
        ReasonText(
            "P05_UNKNOWN_PRODUCT",
            "Selle toote jaoks ei ole järelmaksu tingimusi kehtestatud.",
            "No instalment terms are set for this product.",
        ),
        ReasonText(
            "P06_RISK_IN_REVIEW_BAND",
            "Hinnatud makseraskuse tõenäosus on vahemikus, mille vaatab üle meie töötaja.",
            "The assessed probability of payment difficulty is in the band a person reviews.",
        ),
        ReasonText(
            "S01_BUREAU_UNAVAILABLE",
            "Krediidibüroo ei vastanud õigel ajal; taotluse vaatab üle meie töötaja.",
            "The credit bureau did not answer in time; a person will review the application.",
        ),
        ReasonText(
            "S02_HUMAN_REVIEW_REQUESTED",
            "Soovisite, et otsuse teeks inimene; taotluse vaatab üle meie töötaja.",
            "You asked for a person to decide; a reviewer will decide on the application.",
        ),
        ReasonText(
            "S03_PROFILING_OBJECTION",
            "Olete esitanud vastuväite profileerimisele; otsuse teeb inimene.",
            "You objected to profiling; a person will decide on the application.",
        ),
        ReasonText(
            "S04_AUTOMATION_PAUSED",
            "Automaatsed otsused on peatatud; otsuse teeb inimene.",
            "Automated decisions are paused; a person will decide on the application.",
        ),
    )
}

_FACTOR_OF_FEATURE = {feature: factor for factor in FACTORS for feature in factor.features}


def factor_of(feature: str) -> Factor:
    """The factor a model feature belongs to; unknown features are a programming error."""
    try:
        return _FACTOR_OF_FEATURE[feature]
    except KeyError:
        raise KeyError(f"feature {feature!r} has no reason factor; add it to FACTORS") from None


def model_reasons(contributions: Mapping[str, float], *, limit: int = MAX_REASONS) -> list[Reason]:
    """The factors that raised the probability of default most, largest first."""
    by_factor: dict[str, float] = {}
    for feature, value in contributions.items():
        code = factor_of(feature).reason.code
        by_factor[code] = by_factor.get(code, 0.0) + float(value)
    adverse = sorted(
        ((code, total) for code, total in by_factor.items() if total > 0),
        key=lambda item: (-item[1], item[0]),
    )
    texts = {factor.reason.code: factor.reason for factor in FACTORS}
    return [
        Reason(code, texts[code].text_et, texts[code].text_en, round(total, 6), "model")
        for code, total in adverse[:limit]
    ]


def policy_reason(code: str, **values: object) -> Reason:
    """A policy or routing reason with its texts filled in."""
    text = POLICY_REASONS[code]
    return Reason(
        code, text.text_et.format(**values), text.text_en.format(**values), None, "policy"
    )
