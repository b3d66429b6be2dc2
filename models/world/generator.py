"""``generate_world``: draw a whole synthetic credit world, deterministically for a seed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from data_contracts.world_folder import SCHEMAS
from models.world.applications import (
    applications_table,
    draw_applications,
    draw_outcomes,
    first_default_month,
    truth_table,
)
from models.world.bureau import bureau_reports_table, draw_bureau_reports
from models.world.calendar import Clock
from models.world.errors import WorldArgumentError
from models.world.history import simulate_history
from models.world.life import draw_lives
from models.world.parameters import MODEL, GenerativeModel
from models.world.people import customers_table, draw_people, protected_table
from models.world.tables import ATTRIBUTE_FILES, World, to_frame

# The world is built in memory before it is written (about 10 MB per 1,000 people), so the
# largest world must fit this machine class (24 GiB) with room to spare.
MAX_CUSTOMERS = 1_000_000
MAX_SEED = 2**63 - 1
EARLIEST_AS_OF = date(2000, 1, 1)
LATEST_AS_OF = date(2099, 12, 31)
# One independent child generator per part of the world, in this fixed order.
_STREAMS = ("people", "lives", "applications", "bureau", "outcomes", "history")

Progress = Callable[[str, int], None]
"""Called with a stage name and how many people that stage just finished."""


def generate_world(
    *,
    customers: int,
    seed: int,
    as_of: date,
    model: GenerativeModel = MODEL,
    progress: Progress | None = None,
) -> World:
    """Draw a world of ``customers`` people observed on ``as_of``; same arguments, same world."""
    check_arguments(customers=customers, seed=seed, as_of=as_of)
    report = progress or (lambda stage, done: None)
    streams = dict(zip(_STREAMS, np.random.default_rng(seed).spawn(len(_STREAMS)), strict=True))
    clock = Clock(as_of=as_of)

    people = draw_people(
        count=customers, clock=clock, rng=streams["people"], params=model.population
    )
    lives = draw_lives(people=people, rng=streams["lives"], params=model.latent)
    report("people", customers)
    applications = draw_applications(
        people=people,
        lives=lives,
        clock=clock,
        rng=streams["applications"],
        params=model.population,
    )
    reports = draw_bureau_reports(
        people=people,
        lives=lives,
        applications=applications,
        clock=clock,
        rng=streams["bureau"],
        params=model.bureau,
        latent=model.latent,
    )
    outcomes = draw_outcomes(
        applications=applications,
        lives=lives,
        has_open_bureau_default=reports.has_open_default,
        rng=streams["outcomes"],
        params=model.default,
        recent_months=model.latent.job_loss_recent_months,
    )
    report("applications", customers)
    history = simulate_history(
        people=people,
        lives=lives,
        default_month=first_default_month(
            applications=applications, outcomes=outcomes, people=people.count
        ),
        clock=clock,
        rng=streams["history"],
        params=model.payments,
        on_block=lambda done: report("history", done),
    )
    tables = {
        "customers": customers_table(people, model.population),
        "invoices": history.invoices,
        "payments": history.payments,
        "bureau_reports": bureau_reports_table(
            reports=reports, applications=applications, people=people
        ),
        "bureau_default_entries": reports.entries,
        "applications": applications_table(
            applications=applications,
            people=people,
            outcomes=outcomes,
            report_ids=reports.report_ids,
        ),
        "protected_attributes": protected_table(people),
        "applications_truth": truth_table(applications=applications, outcomes=outcomes),
    }
    # Casting to the format's schema fails loudly if a table drifts from docs/world-format.md.
    frames = {
        attribute: to_frame(table.cast(SCHEMAS[ATTRIBUTE_FILES[attribute]]))
        for attribute, table in tables.items()
    }
    return World(seed=seed, as_of=as_of, **frames)


def check_arguments(*, customers: int, seed: int, as_of: date) -> None:
    """Refuse arguments the generator cannot honour, naming the argument and the fix."""
    if isinstance(customers, bool) or not isinstance(customers, int):
        raise WorldArgumentError("customers must be a whole number, e.g. --customers 10000")
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise WorldArgumentError(
            f"customers must be between 1 and {MAX_CUSTOMERS:,}, got {customers:,} "
            "(a world is built in memory: about 10 GB at the maximum)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise WorldArgumentError(f"seed must be a whole number between 0 and {MAX_SEED}")
    if not isinstance(as_of, date) or not EARLIEST_AS_OF <= as_of <= LATEST_AS_OF:
        raise WorldArgumentError(
            f"as-of must be a date between {EARLIEST_AS_OF} and {LATEST_AS_OF}"
        )
