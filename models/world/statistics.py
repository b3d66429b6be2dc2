"""Portfolio statistics of a world, the figures ``docs/synthetic-world.md`` reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from models.world.tables import World


@dataclass(frozen=True)
class WorldStatistics:
    customers: int
    applications: int
    invoices: int
    payments: int
    default_rate: float
    ceiling_auc: float  # AUC of the true PD against the outcomes: the best any model can do
    thin_file_share: float  # applications by people with no invoice before applying
    never_customer_share: float
    minor_applicant_share: float
    risk_class_mix: dict[str, float]
    default_rate_by_class: dict[str, float]
    bureau_latent_correlation: float  # Spearman, bureau score vs latent creditworthiness
    late_invoice_share: float
    collection_invoice_share: float

    def as_dict(self) -> dict:
        return asdict(self)


def world_statistics(world: World) -> WorldStatistics:
    """Measure the portfolio: default rate, class mix, thin files, ceiling AUC."""
    from sklearn.metrics import roc_auc_score

    applications = world.applications.merge(
        world.applications_truth, on="application_id", validate="one_to_one"
    ).merge(
        world.bureau_reports[["report_id", "score", "risk_class"]],
        left_on="bureau_report_id",
        right_on="report_id",
        validate="one_to_one",
    )
    defaulted = applications["defaulted_12m"].to_numpy(dtype=bool)

    first_invoice = world.invoices.groupby("personal_code")["issued_on"].min()
    applied_day = applications["applied_at"].dt.tz_localize(None).dt.floor("D")
    history_start = applications["personal_code"].map(first_invoice)
    thin = history_start.isna() | (history_start >= applied_day)

    birth = applications["personal_code"].map(
        world.customers.set_index("personal_code")["birth_date"]
    )
    minors = (applied_day - birth).dt.days < 18 * 365.2425

    classes = ["very_good", "good", "satisfactory", "poor"]
    mix = applications["risk_class"].value_counts(normalize=True)
    by_class = applications.groupby("risk_class")["defaulted_12m"].mean()
    invoices = world.invoices
    late = invoices["paid_in_full_on"].isna() | (invoices["paid_in_full_on"] > invoices["due_on"])
    return WorldStatistics(
        customers=len(world.customers),
        applications=len(applications),
        invoices=len(invoices),
        payments=len(world.payments),
        default_rate=float(defaulted.mean()),
        ceiling_auc=float(roc_auc_score(defaulted, applications["true_pd"])),
        thin_file_share=float(thin.mean()),
        never_customer_share=float(world.customers["customer_since"].isna().mean()),
        minor_applicant_share=float(minors.mean()),
        risk_class_mix={name: float(mix.get(name, 0.0)) for name in classes},
        default_rate_by_class={name: float(by_class.get(name, np.nan)) for name in classes},
        bureau_latent_correlation=float(
            applications["score"].rank().corr(applications["latent_creditworthiness"].rank())
        ),
        late_invoice_share=float(late.mean()),
        collection_invoice_share=float(invoices["sent_to_collection_on"].notna().mean()),
    )
