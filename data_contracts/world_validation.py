"""Validate the files of a world folder against their contracts before anything is loaded.

Each operational file of a world (see ``docs/world-format.md``) is one contract table. The
whole file is read, every column included, so a column the contract does not list (a
``sex`` or ``free_text_notes`` column slipped into an export) fails the batch too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from data_contracts.loader import ContractViolation, load_contract


@dataclass(frozen=True)
class WorldFileContract:
    """Which contract table a world file must satisfy."""

    contract: str
    table: str | None
    # Columns that link the file to a person and that the ingest replaces or drops before
    # storing; they are checked by the ingest itself (each code must be a known customer).
    link_columns: tuple[str, ...] = ()


WORLD_FILE_CONTRACTS: dict[str, WorldFileContract] = {
    "customers.parquet": WorldFileContract("payment_history", "customers"),
    "invoices.parquet": WorldFileContract("payment_history", "invoices"),
    "payments.parquet": WorldFileContract("payment_history", "payments"),
    "bureau_reports.parquet": WorldFileContract(
        "bureau_report", "bureau_report", link_columns=("personal_code",)
    ),
    "bureau_default_entries.parquet": WorldFileContract("bureau_report", "default_entries"),
    "applications.parquet": WorldFileContract("payment_history", "applications"),
}

Progress = Callable[[str], None]


def validation_run_dir(home: Path, *, now: datetime | None = None) -> Path:
    """The folder for one run's validation results: ``<home>/validation/<UTC timestamp>``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return home / "validation" / moment.strftime("%Y%m%dT%H%M%S%fZ")


def validate_world_files(
    world_dir: Path,
    *,
    report_dir: Path,
    files: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> None:
    """Validate every world file against its contract; raise ``ContractViolation`` on failure.

    All files are validated (not only up to the first failure) so one run shows every
    problem; the full results of the failed files are saved in ``report_dir``.
    """
    from data_contracts.loader import validate_batch
    from data_contracts.world_folder import read_arrow

    summaries: list[str] = []
    for name in files or WORLD_FILE_CONTRACTS:
        spec = WORLD_FILE_CONTRACTS[name]
        if progress is not None:
            progress(name)
        frame = read_arrow(world_dir, name).to_pandas()
        frame = frame.drop(columns=[c for c in spec.link_columns if c in frame.columns])
        contract = load_contract(spec.contract)
        result = validate_batch(frame, contract, table=spec.table)
        if not result.success:
            result.report_path = _save(result, report_dir, name)
            summaries.append(f"{name}: {result.summary()}")
    if summaries:
        raise ContractViolation(
            "the world folder does not satisfy its data contracts; nothing was loaded\n"
            + "\n".join(summaries),
            report_path=report_dir,
        )


def _save(result, report_dir: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    import json

    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"{name.removesuffix('.parquet')}.validation.json"
    path.write_text(json.dumps(result.raw, indent=2, default=str), encoding="utf-8")
    return path
