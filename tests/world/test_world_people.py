"""People in a generated world: valid identities, plausible ages, protected data kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.world import World
from scoring.domain.personal_code import parse


def test_every_personal_code_is_valid_and_unique(world: World) -> None:
    codes = world.customers["personal_code"]
    assert codes.is_unique
    for code, born in zip(codes, world.customers["birth_date"], strict=True):
        assert parse(code).birth_date == born.date()


def test_the_sex_digit_agrees_with_the_protected_sex(world: World) -> None:
    people = world.customers.merge(world.protected_attributes, on="personal_code")
    assert len(people) == len(world.customers)
    female_digit = people["personal_code"].str[0].astype(int) % 2 == 0
    assert (female_digit == (people["sex"] == "F")).all()
    assert 0.45 < female_digit.mean() < 0.55


def test_applicants_are_mostly_adults_with_a_few_minors_for_the_knock_out_rule(
    world: World,
) -> None:
    applications = world.applications.merge(world.customers, on="personal_code")
    applied = applications["applied_at"].dt.tz_localize(None).dt.floor("D")
    ages = np.array(
        [
            parse(code).age_on(day.date())
            for code, day in zip(applications["personal_code"], applied, strict=True)
        ]
    )
    assert ages.min() == 16
    assert ages.max() <= 85
    assert 0.001 < (ages < 18).mean() < 0.006


def test_protected_attributes_appear_only_in_their_own_file(world: World) -> None:
    for name, frame in world.tables().items():
        if name == "protected/attributes.parquet":
            assert list(frame.columns) == ["personal_code", "sex", "language", "region"]
            continue
        assert not {"sex", "language", "region"} & set(frame.columns), name


def test_languages_and_regions_look_estonian(world: World) -> None:
    attributes = world.protected_attributes
    languages = attributes["language"].value_counts(normalize=True)
    assert set(languages.index) == {"et", "ru", "en"}
    assert 0.55 < languages["et"] < 0.8 and 0.15 < languages["ru"] < 0.4
    russian_share = attributes.groupby("region")["language"].apply(lambda s: (s == "ru").mean())
    assert russian_share["Ida-Virumaa"] > 0.6 > russian_share["Tartumaa"]


def test_language_may_correlate_mildly_with_creditworthiness_but_sex_does_not(
    world: World,
) -> None:
    truth = world.applications_truth.merge(world.applications, on="application_id").merge(
        world.protected_attributes, on="personal_code"
    )
    by_sex = truth.groupby("sex")["latent_creditworthiness"].mean()
    assert abs(by_sex["F"] - by_sex["M"]) < 0.06
    by_language = truth.groupby("language")["latent_creditworthiness"].mean()
    assert 0.05 < by_language["et"] - by_language["ru"] < 0.4


def test_thin_files_have_no_customer_history(world: World) -> None:
    never = world.customers.loc[world.customers["customer_since"].isna(), "personal_code"]
    assert 0.10 <= len(never) / len(world.customers) <= 0.15
    assert not world.invoices["personal_code"].isin(never).any()


def test_relationships_end_after_they_start(world: World) -> None:
    customers = world.customers.dropna(subset=["relationship_ended_on"])
    assert (customers["relationship_ended_on"] > customers["customer_since"]).all()
    assert pd.api.types.is_datetime64_any_dtype(world.customers["birth_date"])
