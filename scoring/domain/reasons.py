"""Reason codes: what was found about the customer, in Estonian and English, only when true.

A model reason is given when two things hold. Its factor (a group of model features the
customer recognises, such as late payments or the bureau's rating) is among the
:data:`MAX_REASONS` factors whose summed SHAP contributions (log-odds) raised the
probability of default most; and its truth condition, a predicate over what the customer's
raw inputs show (:class:`ReasonFacts`: counts of invoices and payments, the bureau report,
the purchase), holds. A factor whose condition does not hold for this customer gives no
reason rather than a false one. Each text states what was found, with the value.

For a customer with no payment history every history feature measures that absence, so
its contribution counts toward the short-history factor; so does a ratio feature that is
missing because nothing fell due to compute it from.

Policy reasons name the rule that fired.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scoring.domain.bureau import RISK_CLASSES, percent_band

MAX_REASONS = 4

# An unpaid invoice counts toward the overdue balance only this many days after its due
# date; a bill due yesterday is the current bill, not a debt (the features count the same).
OVERDUE_BALANCE_AFTER_DAYS = 14
# Below these the payment history is too short to say much.
SHORT_TENURE_MONTHS = 12
FEW_INVOICES_24M = 6
# Paying on average fewer days than this before the due date is "close to the due date".
EARLY_PAYMENT_DAYS = 3.0
# The instalment is "large compared with your invoices" from this many times the average.
INSTALMENT_TO_INVOICE_RATIO = 2.0
# Without invoices to compare with, an instalment or amount is large from these levels.
LARGE_INSTALMENT_EUR = 150.0
LARGE_AMOUNT_EUR = 3000.0
# A term is long from this many months.
LONG_TERM_MONTHS = 24

PRODUCT_NAMES: dict[str, tuple[str, str]] = {
    "heat_pump": ("soojuspump", "heat pump"),
    "solar_panels": ("päikesepaneelid", "solar panels"),
    "electronics": ("elektroonika", "electronics"),
    "phone": ("telefon", "phone"),
    "smart_home": ("targa kodu seadmed", "smart-home devices"),
    "home_appliance": ("kodumasin", "home appliance"),
}


@dataclass(frozen=True)
class ReasonText:
    code: str
    text_et: str
    text_en: str


@dataclass(frozen=True)
class Reason:
    code: str
    text_et: str
    text_en: str
    contribution: float | None  # summed log-odds contribution; None for policy reasons
    kind: str  # "model" or "policy"


@dataclass(frozen=True)
class ReasonFacts:
    """What the customer's raw inputs show, counted: the ground every reason text stands on.

    Built from the payment-history aggregates (invoices and payments before the application
    day), the bureau report and the purchase; no model output.
    """

    has_history: bool
    tenure_months: int
    invoices_24m: int
    invoices_due_12m: int
    late_12m: int
    late_24m: int
    max_dpd_6m: int
    max_dpd_12m: int
    max_dpd_24m: int
    current_dpd: int
    overdue_balance_eur: float
    reminders_12m: int
    collections_24m: int
    settled_due_12m: int
    pay_margin_mean_12m: float | None
    partial_paid_due_12m: int
    avg_invoice_eur_12m: float | None
    bureau_class: str
    bureau_score: float
    bureau_open_defaults: int
    bureau_closed_defaults: int
    amount_eur: float
    term_months: int
    product_category: str
    # Over every invoice paid on time; absent (0, None) in decisions recorded before them.
    paid_on_time: int = 0
    early_days_mean: float | None = None

    @property
    def monthly_instalment_eur(self) -> float:
        return round(self.amount_eur / self.term_months, 2)

    @classmethod
    def from_inputs(
        cls,
        raw: Mapping[str, float],
        *,
        bureau_class: str,
        bureau_score: float,
        bureau_open_defaults: int,
        bureau_closed_defaults: int,
        amount_eur: float,
        term_months: int,
        product_category: str,
    ) -> ReasonFacts:
        """From the history kernel's raw aggregates (by name), the bureau and the purchase."""

        def whole(name: str) -> int:
            return int(round(float(raw[name])))

        def mean(total: str, count: str) -> float | None:
            n = float(raw[count])
            return float(raw[total]) / n if n > 0 else None

        return cls(
            has_history=bool(raw["has_history"]),
            tenure_months=int(math.floor(float(raw["days_since_first_invoice"]) / 30.4375)),
            invoices_24m=whole("invoice_count_24m"),
            invoices_due_12m=whole("invoices_due_12m"),
            late_12m=whole("late_payments_12m"),
            late_24m=whole("late_payments_24m"),
            max_dpd_6m=whole("max_dpd_6m"),
            max_dpd_12m=whole("max_dpd_12m"),
            max_dpd_24m=whole("max_dpd_24m"),
            current_dpd=whole("current_dpd"),
            overdue_balance_eur=round(float(raw["overdue_balance_eur"]), 2),
            reminders_12m=whole("reminders_12m"),
            collections_24m=whole("collections_24m"),
            settled_due_12m=whole("settled_due_12m"),
            pay_margin_mean_12m=mean("pay_margin_sum_12m", "settled_due_12m"),
            partial_paid_due_12m=whole("partial_paid_due_12m"),
            paid_on_time=whole("paid_on_time"),
            early_days_mean=mean("early_days_sum", "paid_on_time"),
            avg_invoice_eur_12m=mean("invoice_amount_sum_12m", "invoices_issued_12m"),
            bureau_class=bureau_class,
            bureau_score=float(bureau_score),
            bureau_open_defaults=int(bureau_open_defaults),
            bureau_closed_defaults=int(bureau_closed_defaults),
            amount_eur=float(amount_eur),
            term_months=int(term_months),
            product_category=product_category,
        )


# ---------------------------------------------------------------------------------------
# Numbers in each language's form (CLDR's, as Babel writes them: tests/letters checks).

_NBSP = "\xa0"


def number_text(value: float, lang: str, *, decimals: int = 0) -> str:
    """``1234.5`` as ``1 234,5`` in Estonian and ``1,234.5`` in English."""
    text = f"{value:,.{decimals}f}"
    if lang == "et":
        return text.replace(",", _NBSP).replace(".", ",")
    return text


def money_text(value: float, lang: str) -> str:
    """An amount in euros: ``1 234,50 €`` in Estonian, ``€1,234.50`` in English."""
    if lang == "et":
        return f"{number_text(value, 'et', decimals=2)}{_NBSP}€"
    return f"€{number_text(value, 'en', decimals=2)}"


def _days(n: int, lang: str) -> str:
    if lang == "et":
        return f"{n} päev" if n == 1 else f"{n} päeva"
    return f"{n} day" if n == 1 else f"{n} days"


def _invoices_en(n: int) -> str:
    return f"{n} invoice" if n == 1 else f"{n} invoices"


# ---------------------------------------------------------------------------------------
# The catalogue: each factor's features and the reasons it may give, first true one wins.

Texts = tuple[str, str]


@dataclass(frozen=True)
class ReasonRule:
    """One reason code: when it is true, and what it says then."""

    code: str
    holds: Callable[[ReasonFacts], bool]
    texts: Callable[[ReasonFacts], Texts]
    meaning_en: str  # what the code means, for the catalogue's readers


@dataclass(frozen=True)
class Factor:
    """Model features a customer recognises as one thing, and the reasons it may give."""

    name: str
    label_en: str
    label_et: str
    features: tuple[str, ...]
    rules: tuple[ReasonRule, ...]

    def reason_for(self, facts: ReasonFacts) -> ReasonRule | None:
        """The first of this factor's reasons that is true for the customer, or None."""
        return next((rule for rule in self.rules if rule.holds(facts)), None)


def _recent_late(f: ReasonFacts) -> Texts:
    if _cites_the_unpaid_invoice(f):
        return (
            "Meie arve on tasumata ja selle maksetähtajast on möödas "
            f"{_days(f.current_dpd, 'et')}.",
            f"An invoice from us is unpaid {_days(f.current_dpd, 'en')} after its due date.",
        )
    return (
        f"Viimase 6 kuu jooksul tasuti meie arve kuni {_days(f.max_dpd_6m, 'et')} "
        "pärast maksetähtaega.",
        f"In the past 6 months an invoice from us was paid as late as "
        f"{_days(f.max_dpd_6m, 'en')} after its due date.",
    )


def _late_history(f: ReasonFacts) -> Texts:
    if f.late_12m >= 1:
        return (
            f"Viimase aasta jooksul tasumisele kuulunud {f.invoices_due_12m} meie arvest "
            f"{f.late_12m} ei olnud tähtajaks tasutud; suurim hilinemine oli "
            f"{_days(f.max_dpd_12m, 'et')}.",
            f"{f.late_12m} of the {_invoices_en(f.invoices_due_12m)} from us that fell due in "
            f"the past year {'was' if f.late_12m == 1 else 'were'} not paid by the due date; "
            f"the longest delay was {_days(f.max_dpd_12m, 'en')}.",
        )
    return (
        f"Viimase kahe aasta jooksul jäi {f.late_24m} meie arvet tähtajaks tasumata, kuid "
        f"viimase aasta arved tasusite tähtajaks; suurim hilinemine oli "
        f"{_days(f.max_dpd_24m, 'et')}."
        if f.late_24m > 1
        else "Viimase kahe aasta jooksul jäi üks meie arve tähtajaks tasumata, kuid viimase "
        f"aasta arved tasusite tähtajaks; hilinemine oli {_days(f.max_dpd_24m, 'et')}.",
        f"In the past two years {_invoices_en(f.late_24m)} from us "
        f"{'was' if f.late_24m == 1 else 'were'} not paid by the due date (none in the past "
        f"year); the longest delay was {_days(f.max_dpd_24m, 'en')}.",
    )


def _close_in_the_past_year(f: ReasonFacts) -> bool:
    return f.pay_margin_mean_12m is not None and f.pay_margin_mean_12m < EARLY_PAYMENT_DAYS


def _pays_close_to_due(f: ReasonFacts) -> bool:
    """No late invoice in two years, and paid close to the due date: in the past year, or
    over every invoice paid on time."""
    over_history = f.early_days_mean is not None and f.early_days_mean < EARLY_PAYMENT_DAYS
    return not f.late_24m and (_close_in_the_past_year(f) or over_history)


def _close_to_due(f: ReasonFacts) -> Texts:
    if f.pay_margin_mean_12m is None or not _close_in_the_past_year(f):
        return _close_to_due_on_time(f)
    margin = f.pay_margin_mean_12m
    et_n = number_text(margin, "et", decimals=1)
    en_n = number_text(margin, "en", decimals=1)
    return (
        f"Tasusite viimase aasta {f.settled_due_12m} meie arvet tähtajaks, kuid keskmiselt "
        f"vaid {et_n} päeva enne maksetähtaega."
        if f.settled_due_12m > 1
        else f"Tasusite viimase aasta ainsa meie arve tähtajaks, kuid vaid {et_n} päeva enne "
        "maksetähtaega.",
        f"You paid the {_invoices_en(f.settled_due_12m)} from us of the past year on time, "
        f"but on average only {en_n} days before the due date.",
    )


def _close_to_due_on_time(f: ReasonFacts) -> Texts:
    early = f.early_days_mean or 0.0
    et_n = number_text(early, "et", decimals=1)
    en_n = number_text(early, "en", decimals=1)
    return (
        f"Tähtajaks tasutud {f.paid_on_time} meie arvet tasusite keskmiselt vaid {et_n} päeva "
        "enne maksetähtaega."
        if f.paid_on_time > 1
        else f"Ainsa tähtajaks tasutud meie arve tasusite vaid {et_n} päeva enne maksetähtaega.",
        f"The {f.paid_on_time} invoices from us you paid on time were paid on average only "
        f"{en_n} days before the due date."
        if f.paid_on_time > 1
        else f"The only invoice from us you paid on time was paid only {en_n} days before the "
        "due date.",
    )


def _reminders(f: ReasonFacts) -> Texts:
    et_parts, en_parts = [], []
    if f.reminders_12m >= 1:
        et_parts.append(
            "viimase aasta jooksul saatsime teile "
            + ("ühe maksemeeldetuletuse" if f.reminders_12m == 1
               else f"{f.reminders_12m} maksemeeldetuletust")
        )  # fmt: skip
        en_parts.append(
            f"in the past year we sent you {f.reminders_12m} payment "
            + ("reminder" if f.reminders_12m == 1 else "reminders")
        )
    if f.collections_24m >= 1:
        et_parts.append(
            "viimase kahe aasta jooksul anti "
            + ("üks teie võlg" if f.collections_24m == 1 else f"{f.collections_24m} teie võlga")
            + " üle inkassoettevõttele"
        )
        en_parts.append(
            "in the past two years "
            + ("a debt of yours was" if f.collections_24m == 1
               else f"{f.collections_24m} debts of yours were")
            + " passed to a collection agency"
        )  # fmt: skip
    et, en = "; ".join(et_parts), "; ".join(en_parts)
    return et[0].upper() + et[1:] + ".", en[0].upper() + en[1:] + "."


def _overdue_balance(f: ReasonFacts) -> Texts:
    return (
        f"Meie arvetelt on tasumata {money_text(f.overdue_balance_eur, 'et')}, mille "
        f"maksetähtajast on möödas üle {OVERDUE_BALANCE_AFTER_DAYS} päeva; vanima arve "
        f"maksetähtajast on möödas {_days(f.current_dpd, 'et')}.",
        f"{money_text(f.overdue_balance_eur, 'en')} of invoices from us is unpaid more than "
        f"{OVERDUE_BALANCE_AFTER_DAYS} days after the due date; the oldest is "
        f"{_days(f.current_dpd, 'en')} past its due date.",
    )


def _no_history(f: ReasonFacts) -> Texts:
    return (
        "Meil puudub teie maksete ajalugu: te ei ole meilt varem arveid saanud.",
        "We have no payment history for you: you have not had invoices from us before.",
    )


def _short_tenure(f: ReasonFacts) -> Texts:
    if f.tenure_months < 1:
        return (
            f"Teie esimene arve meilt oli vähem kui kuu aega tagasi (seni arveid: "
            f"{f.invoices_24m}).",
            f"Your first invoice from us was less than a month ago ({_invoices_en(f.invoices_24m)} "
            "so far).",
        )
    months_et = "kuu" if f.tenure_months == 1 else "kuud"
    months_en = "month" if f.tenure_months == 1 else "months"
    return (
        f"Teie esimene arve meilt oli alles {f.tenure_months} {months_et} tagasi (seni arveid: "
        f"{f.invoices_24m}).",
        f"Your first invoice from us was only {f.tenure_months} {months_en} ago "
        f"({_invoices_en(f.invoices_24m)} so far).",
    )


def _few_invoices(f: ReasonFacts) -> Texts:
    if f.invoices_24m == 0:
        # A former customer: a history, all of it older than two years.
        return (
            "Viimase kahe aasta jooksul ei ole te meilt arveid saanud: teie maksete ajalugu "
            "meie juures on vanem.",
            "You have had no invoices from us in the past two years: your payment history "
            "with us is older than that.",
        )
    return (
        f"Viimase kahe aasta jooksul olete meilt saanud vaid {f.invoices_24m} "
        + ("arve." if f.invoices_24m == 1 else "arvet."),
        f"You have had only {_invoices_en(f.invoices_24m)} from us in the past two years.",
    )


def _nothing_due(f: ReasonFacts) -> Texts:
    return (
        "Viimase aasta jooksul ei saabunud ühegi teie arve maksetähtaeg, seega puudub meil "
        "teie hiljutiste maksete ajalugu.",
        "None of your invoices from us fell due in the past year, so we have no recent "
        "payment history for you.",
    )


def _bureau_rating(f: ReasonFacts) -> Texts:
    definition = RISK_CLASSES[f.bureau_class]
    rank = definition.rank + 1
    score = f"{f.bureau_score:.0f}"
    return (
        f"Krediidibüroo paigutas teid klassi „{definition.label_et}“ (neljast klassist {rank}., "
        "kus 1. on parim): büroo hinnangul on tõenäosus, et teil tekib järgmise 12 kuu jooksul "
        f"maksehäire, {percent_band(definition, ',')}; skoor {score}.",
        f"The credit bureau places you in the class “{definition.label_en}” ({rank} of 4, "
        "where 1 is best): the bureau estimates the probability that you have a payment "
        f"default in the next 12 months at {percent_band(definition, '.')}; score {score}.",
    )


def _bureau_defaults(f: ReasonFacts) -> Texts:
    n = f.bureau_open_defaults + f.bureau_closed_defaults
    return (
        f"Krediidibüroos on registreeritud {n} teie "
        + ("maksehäire" if n == 1 else "maksehäiret")
        + f" ({f.bureau_open_defaults} lõpetamata, {f.bureau_closed_defaults} lõpetatud).",
        f"The credit bureau has {n} payment "
        + ("default" if n == 1 else "defaults")
        + f" of yours on record ({f.bureau_open_defaults} open, "
        f"{f.bureau_closed_defaults} settled).",
    )


def _has_average_invoice(f: ReasonFacts) -> bool:
    return f.avg_invoice_eur_12m is not None and f.avg_invoice_eur_12m > 0


def _instalment_ratio(f: ReasonFacts) -> float:
    return f.monthly_instalment_eur / (f.avg_invoice_eur_12m or 1.0)


def _instalment_vs_invoices(f: ReasonFacts) -> Texts:
    ratio = _instalment_ratio(f)
    avg = f.avg_invoice_eur_12m or 0.0
    return (
        f"Kuumakse {money_text(f.monthly_instalment_eur, 'et')} on "
        f"{number_text(ratio, 'et', decimals=1)} korda suurem kui teie viimase aasta "
        f"keskmine arve meilt ({money_text(avg, 'et')}).",
        f"The monthly instalment of {money_text(f.monthly_instalment_eur, 'en')} is "
        f"{number_text(ratio, 'en', decimals=1)} times your average invoice from us in the past "
        f"year ({money_text(avg, 'en')}).",
    )


def _instalment_without_invoices(f: ReasonFacts) -> Texts:
    return (
        f"Kuumakse {money_text(f.monthly_instalment_eur, 'et')} on suur ning meil ei ole "
        "võrdluseks teie viimase aasta arveid.",
        f"The monthly instalment of {money_text(f.monthly_instalment_eur, 'en')} is large, and "
        "we have no invoices of yours from the past year to compare it with.",
    )


def _large_amount(f: ReasonFacts) -> Texts:
    return (
        f"Taotletud summa {money_text(f.amount_eur, 'et')} on suur "
        f"(üle {money_text(LARGE_AMOUNT_EUR, 'et')}).",
        f"The amount applied for, {money_text(f.amount_eur, 'en')}, is large "
        f"(over {money_text(LARGE_AMOUNT_EUR, 'en')}).",
    )


def _long_term(f: ReasonFacts) -> Texts:
    return (
        f"Järelmaksu periood {f.term_months} kuud on pikk (üle {LONG_TERM_MONTHS} kuu).",
        f"The plan's term of {f.term_months} months is long (over {LONG_TERM_MONTHS} months).",
    )


def _product(f: ReasonFacts) -> Texts:
    name_et, name_en = PRODUCT_NAMES[f.product_category]
    return (
        f"Ostetava toote liik ({name_et}) mõjutas hinnangut ebasoodsalt.",
        f"The kind of product bought ({name_en}) weighed against the application.",
    )


def _partial_payments(f: ReasonFacts) -> Texts:
    return (
        f"Viimase aasta jooksul tasumisele kuulunud {f.invoices_due_12m} meie arvest "
        f"{f.partial_paid_due_12m} tasuti osade kaupa, mitte korraga.",
        f"{f.partial_paid_due_12m} of the {_invoices_en(f.invoices_due_12m)} from us that fell "
        "due in the past year "
        f"{'was' if f.partial_paid_due_12m == 1 else 'were'} paid in parts rather than at once.",
    )


FACTORS: tuple[Factor, ...] = (
    Factor(
        "recent_late_payments",
        "Recent late payments",
        "Hiljutised hilinenud maksed",
        ("max_dpd_3m", "max_dpd_6m", "current_dpd"),
        (
            ReasonRule(
                "R01_RECENT_LATE_PAYMENTS",
                lambda f: f.max_dpd_6m >= 1,
                _recent_late,
                "an invoice in the past 6 months was paid after its due date or is overdue now",
            ),
        ),
    ),
    Factor(
        "payment_timeliness",
        "Paying on time",
        "Maksete õigeaegsus",
        (
            "max_dpd_12m",
            "max_dpd_24m",
            "mean_dpd_12m",
            "late_payments_12m",
            "late_payments_24m",
            "months_since_last_late_payment",
            "pay_margin_mean_12m",
            "early_days_mean",
            "early_days_recent_mean",
        ),
        (
            ReasonRule(
                "R02_LATE_PAYMENT_HISTORY",
                lambda f: f.late_24m >= 1,
                _late_history,
                "invoices that fell due in the past two years were not paid by the due date",
            ),
            ReasonRule(
                "R12_PAYMENT_TIMING",
                _pays_close_to_due,
                _close_to_due,
                "no invoice late in two years, but paid on average close to the due date",
            ),
        ),
    ),
    Factor(
        "reminders_and_collection",
        "Reminders and collection",
        "Meeldetuletused ja inkasso",
        ("reminders_12m", "collections_24m"),
        (
            ReasonRule(
                "R03_REMINDERS_AND_COLLECTION",
                lambda f: f.reminders_12m >= 1 or f.collections_24m >= 1,
                _reminders,
                "payment reminders were sent or a debt was passed to collection",
            ),
        ),
    ),
    Factor(
        "overdue_balance",
        "Balance owed",
        "Võlgnevus",
        ("current_balance_eur", "max_balance_12m_eur"),
        (
            ReasonRule(
                "R04_OUTSTANDING_BALANCE",
                lambda f: f.overdue_balance_eur >= 0.01,
                _overdue_balance,
                f"an amount is unpaid more than {OVERDUE_BALANCE_AFTER_DAYS} days after its due "
                "date (not the current bill)",
            ),
        ),
    ),
    Factor(
        "short_history",
        "Length of payment history",
        "Maksete ajaloo pikkus",
        ("tenure_months", "thin_file", "invoice_count_24m"),
        (
            ReasonRule(
                "R05_SHORT_HISTORY",
                lambda f: not f.has_history,
                _no_history,
                "no payment history with us",
            ),
            ReasonRule(
                "R05_SHORT_HISTORY",
                lambda f: f.tenure_months < SHORT_TENURE_MONTHS,
                _short_tenure,
                "the first invoice was less than a year ago",
            ),
            ReasonRule(
                "R05_SHORT_HISTORY",
                lambda f: f.invoices_24m < FEW_INVOICES_24M,
                _few_invoices,
                "few invoices in the past two years",
            ),
            ReasonRule(
                "R05_SHORT_HISTORY",
                lambda f: f.invoices_due_12m == 0,
                _nothing_due,
                "no invoice fell due in the past year",
            ),
        ),  # fmt: skip
    ),
    Factor(
        "bureau_rating",
        "Credit bureau rating",
        "Krediidibüroo hinnang",
        ("bureau_score", "bureau_class_rank"),
        (
            ReasonRule(
                "R06_BUREAU_RATING",
                lambda f: f.bureau_class in RISK_CLASSES and f.bureau_class != "very_good",
                _bureau_rating,
                "the credit bureau's class is below its best, with what the class means",
            ),
        ),
    ),
    Factor(
        "bureau_defaults",
        "Payment defaults at the bureau",
        "Maksehäired krediidibüroos",
        ("bureau_open_defaults", "bureau_closed_defaults"),
        (
            ReasonRule(
                "R07_BUREAU_DEFAULTS",
                lambda f: f.bureau_open_defaults + f.bureau_closed_defaults >= 1,
                _bureau_defaults,
                "payment defaults are registered with the credit bureau",
            ),
        ),
    ),
    Factor(
        "instalment_size",
        "Size of amount and instalment",
        "Summa ja kuumakse suurus",
        ("amount_eur", "monthly_instalment_eur", "instalment_to_avg_invoice"),
        (
            ReasonRule(
                "R08_INSTALMENT_SIZE",
                lambda f: (
                    _has_average_invoice(f) and _instalment_ratio(f) >= INSTALMENT_TO_INVOICE_RATIO
                ),
                _instalment_vs_invoices,
                f"the instalment is at least {INSTALMENT_TO_INVOICE_RATIO:g} times the average "
                "invoice of the past year",
            ),
            ReasonRule(
                "R08_INSTALMENT_SIZE",
                lambda f: (
                    not _has_average_invoice(f) and f.monthly_instalment_eur >= LARGE_INSTALMENT_EUR
                ),
                _instalment_without_invoices,
                f"no invoices to compare with and an instalment of {LARGE_INSTALMENT_EUR:g} EUR "
                "or more",
            ),
            ReasonRule(
                "R08_INSTALMENT_SIZE",
                lambda f: f.amount_eur > LARGE_AMOUNT_EUR,
                _large_amount,
                f"an amount over {LARGE_AMOUNT_EUR:g} EUR",
            ),
        ),
    ),
    Factor(
        "term",
        "Term",
        "Periood",
        ("term_months",),
        (
            ReasonRule(
                "R09_TERM",
                lambda f: f.term_months > LONG_TERM_MONTHS,
                _long_term,
                f"a term longer than {LONG_TERM_MONTHS} months",
            ),
        ),
    ),
    Factor(
        "product",
        "Product",
        "Toode",
        ("product_category_code",),
        (
            ReasonRule(
                "R10_PRODUCT",
                lambda f: f.product_category in PRODUCT_NAMES,
                _product,
                "the kind of product raised the assessed risk",
            ),
        ),
    ),
    Factor(
        "payment_pattern",
        "Paying in parts",
        "Osade kaupa tasumine",
        ("partial_payment_share_12m", "avg_invoice_eur_12m"),
        (
            ReasonRule(
                "R11_PAYMENT_PATTERN",
                lambda f: f.partial_paid_due_12m >= 1,
                _partial_payments,
                "invoices that fell due in the past year were paid in parts",
            ),
        ),
    ),
)

# Features whose value is missing when nothing fell due or was invoiced to compute them
# from: a missing value measures too little history, whatever factor the feature is in.
MISSING_MEANS_SHORT_HISTORY = frozenset(
    {
        "mean_dpd_12m",
        "pay_margin_mean_12m",
        "early_days_mean",
        "early_days_recent_mean",
        "partial_payment_share_12m",
        "avg_invoice_eur_12m",
        "instalment_to_avg_invoice",
    }
)
_HISTORY_FACTORS = frozenset(
    {
        "recent_late_payments",
        "payment_timeliness",
        "reminders_and_collection",
        "overdue_balance",
        "short_history",
        "payment_pattern",
    }
)

_FACTOR_OF_FEATURE = {feature: factor for factor in FACTORS for feature in factor.features}
_FACTOR_BY_NAME = {factor.name: factor for factor in FACTORS}
SHORT_HISTORY = _FACTOR_BY_NAME["short_history"]


def factor_of(feature: str) -> Factor:
    """The factor a model feature belongs to; unknown features are a programming error."""
    try:
        return _FACTOR_OF_FEATURE[feature]
    except KeyError:
        raise KeyError(f"feature {feature!r} has no reason factor; add it to FACTORS") from None


def factor_for(feature: str, value: float | None, *, thin_file: bool) -> Factor:
    """The factor a feature's contribution counts toward for this customer.

    For a customer with no history every history feature measures that absence; a ratio
    that is missing measures too little history. Otherwise the feature's own factor.
    """
    factor = factor_of(feature)
    if thin_file and (factor.name in _HISTORY_FACTORS or feature == "instalment_to_avg_invoice"):
        return SHORT_HISTORY
    if feature in MISSING_MEANS_SHORT_HISTORY and (value is None or math.isnan(value)):
        return SHORT_HISTORY
    return factor


def grouped_contributions(
    contributions: Mapping[str, float],
    features: Mapping[str, float | None],
    *,
    thin_file: bool,
) -> dict[str, float]:
    """Summed log-odds contribution per factor name for this customer."""
    by_factor: dict[str, float] = {}
    for feature, value in contributions.items():
        name = factor_for(feature, features.get(feature), thin_file=thin_file).name
        by_factor[name] = by_factor.get(name, 0.0) + float(value)
    return by_factor


def top_adverse_factors(grouped: Mapping[str, float], *, limit: int = MAX_REASONS) -> list[str]:
    """The factors that raised the probability of default most, largest first."""
    adverse = sorted(
        ((name, total) for name, total in grouped.items() if total > 0),
        key=lambda item: (-item[1], item[0]),
    )
    return [name for name, _ in adverse[:limit]]


def model_reasons(
    contributions: Mapping[str, float],
    features: Mapping[str, float | None],
    facts: ReasonFacts,
    *,
    limit: int = MAX_REASONS,
) -> list[Reason]:
    """Reasons for the top adverse factors that are true for this customer, largest first."""
    grouped = grouped_contributions(contributions, features, thin_file=not facts.has_history)
    reasons: list[Reason] = []
    for name in top_adverse_factors(grouped, limit=limit):
        rule = _FACTOR_BY_NAME[name].reason_for(facts)
        if rule is None or _restates(rule.code, {r.code for r in reasons}, facts):
            continue
        text_et, text_en = rule.texts(facts)
        reasons.append(Reason(rule.code, text_et, text_en, round(grouped[name], 6), "model"))
    return reasons


def _restates(code: str, given: set[str], facts: ReasonFacts) -> bool:
    """Whether ``code`` would only repeat a reason already given.

    R01 (recent late payments) and R02 (late payment history) both cite a late invoice; with
    one late invoice in two years whose delay is the one of the past six months, they would
    cite the same invoice twice, so the second of them is not given. The same holds for R01
    and R04 when both speak of the invoice unpaid now.
    """
    late = {"R01_RECENT_LATE_PAYMENTS", "R02_LATE_PAYMENT_HISTORY"}
    if (
        code in late
        and (late - {code}) & given
        and facts.late_24m <= 1
        and 1 <= facts.max_dpd_24m <= facts.max_dpd_6m
    ):
        return True
    # R01 and R04 (overdue balance) both cite the invoice unpaid now when R01 speaks of it
    # ("unpaid N days after its due date"): R04 says it with the amount, R01 adds nothing.
    # Checked whatever else was given: R02 before R01 does not make R01 say something new.
    unpaid = {"R01_RECENT_LATE_PAYMENTS", "R04_OUTSTANDING_BALANCE"}
    return bool(
        code in unpaid
        and (unpaid - {code}) & given
        and _cites_the_unpaid_invoice(facts)
        and facts.overdue_balance_eur >= 0.01
    )


def _cites_the_unpaid_invoice(f: ReasonFacts) -> bool:
    """Whether R01's text is about an invoice unpaid now (see ``_recent_late``)."""
    return f.current_dpd >= 1 and f.current_dpd >= f.max_dpd_6m


def reason_rule(code: str, facts: ReasonFacts) -> ReasonRule | None:
    """The rule that gives ``code`` for this customer (None: the code is false for them)."""
    for factor in FACTORS:
        rule = factor.reason_for(facts)
        if rule is not None and rule.code == code:
            return rule
    return None


def factor_of_code(code: str) -> Factor:
    """The factor whose rules give ``code``."""
    for factor in FACTORS:
        if any(rule.code == code for rule in factor.rules):
            return factor
    raise KeyError(f"no factor gives reason code {code!r}")


REASON_CODES: tuple[str, ...] = tuple(
    dict.fromkeys(rule.code for factor in FACTORS for rule in factor.rules)
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
            "Taotletud summa ületab selle toote järelmaksu ülemmäära {limit}.",
            "The amount applied for is above this product's instalment limit of {limit}.",
        ),
        ReasonText(
            "P05_UNKNOWN_PRODUCT",
            "Selle toote jaoks ei ole järelmaksu tingimusi kehtestatud.",
            "No instalment terms are set for this product.",
        ),
        ReasonText(
            "P06_RISK_IN_REVIEW_BAND",
            "Hinnatud makseraskuste tõenäosus on vahemikus, mille puhul otsustab meie töötaja.",
            "The assessed probability of payment difficulty is in the band a person reviews.",
        ),
        ReasonText(
            "S01_BUREAU_UNAVAILABLE",
            "Krediidibüroo ei vastanud õigel ajal; taotluse vaatab üle meie töötaja.",
            "The credit bureau did not answer in time; a person will review the application.",
        ),
        ReasonText(
            "S02_HUMAN_REVIEW_REQUESTED",
            "Soovisite, et otsuse teeks inimene; teie taotluse üle otsustab meie töötaja.",
            "You asked for a person to decide; a reviewer will decide on the application.",
        ),
        ReasonText(
            "S03_PROFILING_OBJECTION",
            "Esitasite profileerimise kohta vastuväite; otsuse teeb meie töötaja.",
            "You objected to profiling; a person will decide on the application.",
        ),
        ReasonText(
            "S04_AUTOMATION_PAUSED",
            "Automatiseeritud otsuste tegemine on peatatud; otsuse teeb meie töötaja.",
            "Automated decisions are paused; a person will decide on the application.",
        ),
    )
}


# A few words per code, for lists where a whole sentence does not fit (the queue).
_SHORT_LABELS = {
    "R01_RECENT_LATE_PAYMENTS": "Recent late payment",
    "R02_LATE_PAYMENT_HISTORY": "Late payments, 2 years",
    "R12_PAYMENT_TIMING": "Pays close to the due date",
    "R03_REMINDERS_AND_COLLECTION": "Reminders or collection",
    "R04_OUTSTANDING_BALANCE": "Overdue balance with us",
    "R05_SHORT_HISTORY": "Little payment history",
    "R06_BUREAU_RATING": "Bureau class",
    "R07_BUREAU_DEFAULTS": "Defaults at the bureau",
    "R08_INSTALMENT_SIZE": "Large amount or instalment",
    "R09_TERM": "Long term",
    "R10_PRODUCT": "Product",
    "R11_PAYMENT_PATTERN": "Pays in parts",
    "P01_BUREAU_OPEN_DEFAULT": "Open default at the bureau",
    "P02_INTERNAL_ARREARS": "Invoice from us long overdue",
    "P03_UNDER_MINIMUM_AGE": "Under the minimum age",
    "P04_AMOUNT_ABOVE_PRODUCT_LIMIT": "Above the product's limit",
    "P05_UNKNOWN_PRODUCT": "No terms for the product",
    "P06_RISK_IN_REVIEW_BAND": "PD in the review band",
    "S01_BUREAU_UNAVAILABLE": "Bureau did not answer",
    "S02_HUMAN_REVIEW_REQUESTED": "Customer asked for a person",
    "S03_PROFILING_OBJECTION": "Customer objected to profiling",
    "S04_AUTOMATION_PAUSED": "Automated decisions paused",
}


def short_label(code: str) -> str:
    """A reason code in a few words (English); an unknown code by its factor's name."""
    if code in _SHORT_LABELS:
        return _SHORT_LABELS[code]
    try:
        return factor_of_code(code).label_en
    except KeyError:
        return code.replace("_", " ").lower()


def policy_reason(code: str, **values: object) -> Reason:
    """A policy or routing reason with its texts filled in."""
    text = POLICY_REASONS[code]
    # A limit in euros is written in each language's money form.
    et, en = dict(values), dict(values)
    if "limit" in values:
        et["limit"] = money_text(float(str(values["limit"])), "et")
        en["limit"] = money_text(float(str(values["limit"])), "en")
    return Reason(code, text.text_et.format(**et), text.text_en.format(**en), None, "policy")
