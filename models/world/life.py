"""Each person's month-by-month latent creditworthiness and job-loss spells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.world.calendar import HISTORY_MONTHS
from models.world.parameters import LatentParameters
from models.world.people import LANGUAGES, REGIONS, People


@dataclass(frozen=True)
class Lives:
    """Arrays of shape (people, 48 months)."""

    creditworthiness: np.ndarray  # float32, higher is better
    out_of_work: np.ndarray  # bool, in a job-loss spell that month
    monthly_capacity: np.ndarray  # EUR a month the person can spare for bills, per person

    def recent_job_loss(self, person: np.ndarray, month: np.ndarray, months: int) -> np.ndarray:
        """Out of work in ``month`` or any of the ``months`` before it."""
        recent = np.zeros(len(person), dtype=bool)
        for back in range(months + 1):
            earlier = np.maximum(month - back, 0)
            recent |= self.out_of_work[person, earlier]
        return recent


def draw_lives(*, people: People, rng: np.random.Generator, params: LatentParameters) -> Lives:
    """Simulate creditworthiness as persistent level + AR(1) drift, and job-loss spells."""
    count = people.count
    age = (people.first_application_day - people.birth_day) / 365.2425
    level = params.person_sd * rng.standard_normal(count)
    level += params.age_effect * np.clip((age - 40.0) / 20.0, -1.0, 1.5)
    level += _lookup(params.language_effect, LANGUAGES)[people.language]
    level += _lookup(params.region_effect, tuple(name for name, _ in REGIONS))[people.region]

    # Richer and older people spend more; capacity is only loosely tied to creditworthiness.
    monthly_capacity = np.exp(
        np.log(1250.0)
        + 0.2 * level
        + 0.1 * np.clip((age - 40.0) / 20.0, -1.0, 1.0)
        + 0.35 * rng.standard_normal(count)
    )
    creditworthiness = np.empty((count, HISTORY_MONTHS), dtype=np.float32)
    out_of_work = np.empty((count, HISTORY_MONTHS), dtype=bool)
    innovation_sd = params.drift_sd * np.sqrt(1.0 - params.drift_rho**2)
    drift = params.drift_sd * rng.standard_normal(count)
    exit_rate = params.job_loss_exit_rate
    for month in range(HISTORY_MONTHS):
        if month:
            drift = params.drift_rho * drift + innovation_sd * rng.standard_normal(count)
        current = level + drift
        creditworthiness[:, month] = current
        hazard = _sigmoid(params.job_loss_intercept + params.job_loss_slope * current)
        if month == 0:
            # Start in the stationary state of the two-state spell process.
            out = rng.random(count) < hazard / (hazard + exit_rate)
        else:
            stays_out = out & (rng.random(count) >= exit_rate)
            loses_job = ~out & (rng.random(count) < hazard)
            out = stays_out | loses_job
        out_of_work[:, month] = out
    return Lives(
        creditworthiness=creditworthiness,
        out_of_work=out_of_work,
        monthly_capacity=monthly_capacity,
    )


def _lookup(effects: tuple[tuple[str, float], ...], names: tuple[str, ...]) -> np.ndarray:
    mapping = dict(effects)
    return np.array([mapping.get(name, 0.0) for name in names])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
