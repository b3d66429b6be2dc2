"""Creditinfo-style bureau reports: score, class by the bureau's own PD, default entries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from models.world.applications import Applications
from models.world.calendar import Clock
from models.world.life import Lives
from models.world.parameters import BureauParameters, LatentParameters
from models.world.people import People
from models.world.tables import NULL_DAY, date_array, identifiers, timestamp_array

# The bureau's classes by its own 12-month PD: (name, band low, band high, lower PD edge).
RISK_CLASSES = (
    ("very_good", 0.0, 0.019, 0.0),
    ("good", 0.02, 0.059, 0.02),
    ("satisfactory", 0.06, 0.149, 0.06),
    ("poor", 0.15, 1.0, 0.15),
)
CREDITOR_SECTORS = (
    ("telecom", 0.25),
    ("consumer_finance", 0.25),
    ("banking", 0.12),
    ("energy", 0.12),
    ("retail", 0.14),
    ("rental", 0.06),
    ("public_sector", 0.06),
)
_REGISTRATION_DAYS = 45  # a default enters the register only after 45 days
_REGISTER_KEEPS_DAYS = 5 * 365  # closed defaults stay visible for five years
_HISTORY_DAYS = 7 * 365


@dataclass(frozen=True)
class BureauReports:
    """One report per application, in application order, plus the entries it lists."""

    report_ids: pa.Array
    score: np.ndarray
    risk_class: np.ndarray  # index into RISK_CLASSES
    bureau_pd: np.ndarray
    open_defaults: np.ndarray
    closed_defaults: np.ndarray
    entries: pa.Table

    @property
    def has_open_default(self) -> np.ndarray:
        return self.open_defaults > 0


def draw_bureau_reports(
    *,
    people: People,
    lives: Lives,
    applications: Applications,
    clock: Clock,
    rng: np.random.Generator,
    params: BureauParameters,
    latent: LatentParameters,
) -> BureauReports:
    """The bureau's report at each application, from a view of c that is noisy and partial."""
    count = applications.count
    person = applications.person
    trouble_elsewhere = rng.standard_normal(people.count)
    bureau_error = rng.standard_normal(people.count)

    entry_person, started, ended, amount, sector = _draw_default_entries(
        lives=lives,
        trouble_elsewhere=trouble_elsewhere,
        clock=clock,
        rng=rng,
        params=params,
    )
    report_of_entry, entry_of_report_row = _entries_seen_by_reports(
        entry_person=entry_person, started=started, ended=ended, applications=applications
    )
    report_day = applications.day[report_of_entry]
    entry_ended = ended[entry_of_report_row]
    still_open = (entry_ended == NULL_DAY) | (entry_ended > report_day)
    open_defaults = np.bincount(report_of_entry[still_open], minlength=count)
    closed_defaults = np.bincount(report_of_entry[~still_open], minlength=count)

    c_scale = np.hypot(latent.person_sd, latent.drift_sd)
    creditworthiness = lives.creditworthiness[person, applications.month] / c_scale
    signal = (
        params.signal_weight * creditworthiness
        + params.person_noise_sd * bureau_error[person]
        + params.report_noise_sd * rng.standard_normal(count)
    )
    log_odds = (
        params.pd_intercept
        + params.pd_slope * signal
        + params.open_default_weight * np.minimum(open_defaults, 3)
        + params.closed_default_weight * np.minimum(closed_defaults, 3)
    )
    bureau_pd = 1.0 / (1.0 + np.exp(-log_odds))
    score = np.clip(np.round(300.0 - 100.0 * log_odds), 0, 1000).astype(np.int64)
    edges = np.array([edge for *_, edge in RISK_CLASSES[1:]])
    risk_class = np.searchsorted(edges, bureau_pd, side="right")

    report_ids = identifiers("CR-", start=1, count=count, width=8)
    sectors = np.asarray([name for name, _ in CREDITOR_SECTORS])
    entries = pa.table(
        {
            "report_id": report_ids.take(pa.array(report_of_entry)),
            "creditor_sector": pa.array(sectors[sector[entry_of_report_row]]),
            "amount_eur": amount[entry_of_report_row],
            "started_on": date_array(started[entry_of_report_row]),
            "ended_on": date_array(np.where(still_open, NULL_DAY, entry_ended)),
        }
    )
    return BureauReports(
        report_ids=report_ids,
        score=score,
        risk_class=risk_class,
        bureau_pd=bureau_pd,
        open_defaults=open_defaults,
        closed_defaults=closed_defaults,
        entries=entries,
    )


def bureau_reports_table(
    *, reports: BureauReports, applications: Applications, people: People
) -> pa.Table:
    """``bureau_reports.parquet``; each report is requested at its application's moment."""
    names = np.asarray([name for name, *_ in RISK_CLASSES])
    low = np.asarray([band_low for _, band_low, _, _ in RISK_CLASSES])
    high = np.asarray([band_high for _, _, band_high, _ in RISK_CLASSES])
    return pa.table(
        {
            "report_id": reports.report_ids,
            "personal_code": people.personal_code.take(pa.array(applications.person)),
            "requested_at": timestamp_array(applications.applied_at),
            "score": reports.score,
            "risk_class": pa.array(names[reports.risk_class]),
            "pd_band_low": low[reports.risk_class],
            "pd_band_high": high[reports.risk_class],
            "open_default_count": reports.open_defaults,
            "closed_default_count": reports.closed_defaults,
        }
    )


def _draw_default_entries(
    *,
    lives: Lives,
    trouble_elsewhere: np.ndarray,
    clock: Clock,
    rng: np.random.Generator,
    params: BureauParameters,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each person's payment defaults with other creditors over seven years before ``as_of``."""
    # The first two years come before every application, so they carry no outcome information.
    earlier = lives.creditworthiness[:, :24].mean(axis=1, dtype=np.float64)
    rate = np.exp(
        params.entry_log_intercept
        + params.entry_log_slope * earlier
        + params.entry_other_trouble * trouble_elsewhere
    )
    per_person = rng.poisson(rate)
    entry_person = np.repeat(np.arange(len(per_person)), per_person)
    total = len(entry_person)
    _, window_end = clock.application_window
    started = rng.integers(clock.today - _HISTORY_DAYS, window_end, size=total)
    never_closed = rng.random(total) < 1.0 / (
        1.0
        + np.exp(
            -(params.never_closed_intercept + params.never_closed_slope * earlier[entry_person])
        )
    )
    duration = np.maximum(30, np.ceil(rng.exponential(params.entry_mean_days_open, size=total)))
    ended = np.where(never_closed, NULL_DAY, started + duration.astype(np.int64))
    amount = np.round(np.maximum(30.0, 250.0 * np.exp(rng.standard_normal(total))), 2)
    shares = np.asarray([share for _, share in CREDITOR_SECTORS])
    sector = rng.choice(len(shares), size=total, p=shares / shares.sum())
    return entry_person, started, ended, amount, sector


def _entries_seen_by_reports(
    *,
    entry_person: np.ndarray,
    started: np.ndarray,
    ended: np.ndarray,
    applications: Applications,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (report, entry) of registered entries visible on the report's date."""
    first = np.searchsorted(entry_person, applications.person, side="left")
    last = np.searchsorted(entry_person, applications.person, side="right")
    sizes = last - first
    report = np.repeat(np.arange(applications.count), sizes)
    entry = np.repeat(first - np.cumsum(np.r_[0, sizes[:-1]]), sizes) + np.arange(sizes.sum())
    day = applications.day[report]
    registered = started[entry] + _REGISTRATION_DAYS <= day
    forgotten = (ended[entry] != NULL_DAY) & (ended[entry] + _REGISTER_KEEPS_DAYS < day)
    visible = registered & ~forgotten
    return report[visible], entry[visible]
