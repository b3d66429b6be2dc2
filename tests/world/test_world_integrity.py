"""Every reference between the files resolves, and every identifier is unique."""

from __future__ import annotations

import pandas as pd

from models.world import World


def test_identifiers_are_unique(world: World) -> None:
    assert world.invoices["invoice_id"].is_unique
    assert world.payments["payment_id"].is_unique
    assert world.bureau_reports["report_id"].is_unique
    assert world.applications["application_id"].is_unique


def test_every_reference_resolves(world: World) -> None:
    people = set(world.customers["personal_code"])
    assert set(world.invoices["personal_code"]) <= people
    assert set(world.applications["personal_code"]) <= people
    assert set(world.bureau_reports["personal_code"]) <= people
    assert set(world.protected_attributes["personal_code"]) == people
    assert set(world.payments["invoice_id"]) <= set(world.invoices["invoice_id"])
    reports = set(world.bureau_reports["report_id"])
    assert set(world.applications["bureau_report_id"]) == reports
    assert set(world.bureau_default_entries["report_id"]) <= reports
    truth = world.applications_truth["application_id"]
    assert truth.tolist() == world.applications["application_id"].tolist()


def test_each_report_belongs_to_its_applicant_and_is_requested_at_the_application(
    world: World,
) -> None:
    joined = world.applications.merge(
        world.bureau_reports,
        left_on="bureau_report_id",
        right_on="report_id",
        suffixes=("", "_report"),
    )
    assert (joined["personal_code"] == joined["personal_code_report"]).all()
    assert (joined["requested_at"] == joined["applied_at"]).all()


def test_default_entry_counts_match_the_listed_entries(world: World) -> None:
    entries = world.bureau_default_entries
    reports = world.bureau_reports.set_index("report_id")
    open_count = entries[entries["ended_on"].isna()].groupby("report_id").size()
    closed_count = entries[entries["ended_on"].notna()].groupby("report_id").size()
    assert (open_count.reindex(reports.index, fill_value=0) == reports["open_default_count"]).all()
    assert (
        closed_count.reindex(reports.index, fill_value=0) == reports["closed_default_count"]
    ).all()
    requested = entries["report_id"].map(reports["requested_at"]).dt.tz_localize(None)
    assert (entries["started_on"] + pd.Timedelta(days=45) <= requested).all()
    assert (entries["amount_eur"] >= 30).all()
    closed = entries.dropna(subset=["ended_on"])
    assert (closed["ended_on"] > closed["started_on"]).all()
