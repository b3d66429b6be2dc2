"""The report's two files: the bureau's CSV and the held-back list, written owner-only.

Each is written to a temporary file first and renamed into place, so a reader never
sees a partial file.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from scoring.domain.payment_defaults import ReportLine, ReportPlan
from scoring.storage.identity_vault import IdentityVault

BUREAU_COLUMNS = (
    "transaction",
    "identification_code",
    "amount_eur",
    "default_started_on",
    "default_ended_on",
)
HELD_BACK_COLUMNS = (
    "customer_pseudonym",
    "default_started_on",
    "default_ended_on",
    "amount_eur",
    "days_overdue",
    "withheld_transaction",
    "rules",
    "reasons",
)


def report_file_names(as_of: date) -> tuple[str, str]:
    """The bureau file's name and the held-back list's name for a report date."""
    stem = f"payment-defaults-{as_of.isoformat()}"
    return f"{stem}.csv", f"{stem}-held-back.csv"


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def bureau_file_text(lines: Sequence[ReportLine], vault: IdentityVault) -> str:
    """The bureau's CSV: one row per report line, with the customer's identification code."""
    # The only place codes are decrypted; they live in this text until it is on disk.
    return _csv_text(
        BUREAU_COLUMNS,
        (
            (
                line.transaction.value,
                vault.code_for(line.customer),
                f"{line.amount:.2f}",
                line.started_on.isoformat(),
                line.ended_on.isoformat() if line.ended_on else "",
            )
            for line in lines
        ),
    )


def held_back_file_text(plan: ReportPlan) -> str:
    """The held-back list: each default not reported, with the rules and reasons why."""
    return _csv_text(
        HELD_BACK_COLUMNS,
        (
            (
                item.customer,
                item.started_on.isoformat(),
                item.ended_on.isoformat() if item.ended_on else "",
                f"{item.amount:.2f}",
                str(item.days_overdue),
                item.withheld.value,
                ";".join(failure.rule for failure in item.failures),
                "; ".join(failure.reason for failure in item.failures),
            )
            for item in plan.held_back
        ),
    )


def write_temporary(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to a new hidden temporary file in ``folder``, synced to disk."""
    temporary = folder / f".{name}.{uuid.uuid4().hex}.tmp"
    # Owner-only: the bureau's file holds identification codes.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def discard(temporaries: Iterable[Path], placed: Iterable[Path]) -> None:
    """Remove what a failed run wrote, so no file exists without its stored run."""
    for path in [*temporaries, *placed]:
        path.unlink(missing_ok=True)
