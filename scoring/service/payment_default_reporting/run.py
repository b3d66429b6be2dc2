"""A report run: the bureau's file and the held-back list for one date, stored as one run.

Both files are written to temporary files and renamed into place inside the transaction
that stores the run, so a failure leaves neither a partial file nor a run row. Running
again for the same date reproduces the same file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from scoring.domain.payment_defaults import Transaction, plan_report, register_after
from scoring.service.payment_default_reporting.errors import (
    DefaultReportingError,
    ReportAlreadyMade,
    ReportOutOfOrder,
    database_unreadable,
)
from scoring.service.payment_default_reporting.history import check_report_date, load_defaults
from scoring.service.payment_default_reporting.report_files import (
    bureau_file_text,
    discard,
    held_back_file_text,
    report_file_names,
    write_temporary,
)
from scoring.storage.db import UnitOfWork
from scoring.storage.tables_payment_defaults import DefaultReportRun

AUDIT_ENTITY_RUN = "default_report_run"


@dataclass(frozen=True)
class ReportRun:
    run_id: str
    as_of: date
    report_file: Path
    held_back_file: Path
    counts: dict[str, int]
    held_back_count: int
    held_back_by_rule: dict[str, int] = field(default_factory=dict)
    never_reportable: int = 0
    repeated: bool = False


def report_defaults(
    *,
    uow: UnitOfWork,
    as_of: date,
    out_dir: Path,
    vault_key: bytes,
    today: date,
    now: datetime,
    actor: str = "report-defaults",
) -> ReportRun:
    """Write the bureau's report file for ``as_of`` and the held-back list, as one run."""
    check_report_date(as_of, today)
    bureau_name, held_name = report_file_names(as_of)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DefaultReportingError(
            f"cannot create the report folder {out_dir}: {error.strerror}"
        ) from None
    temporaries: list[Path] = []
    placed: list[Path] = []
    existing: DefaultReportRun | None = None
    try:
        with uow:
            register = uow.payment_default_register
            existing = register.run_for(as_of)
            later = register.latest_run_date_after(as_of)
            if existing is None and later is not None:
                raise ReportOutOfOrder(
                    f"a report for {later.isoformat()} was already made; reports go forward "
                    f"in time, so {as_of.isoformat()} can no longer get a first report",
                    field="as_of",
                )
            # What the bureau holds from all runs for earlier dates.
            bureau_register = register_after({}, register.lines_before(as_of))
            defaults = load_defaults(register, as_of=as_of)
            vault = register.identity_vault(vault_key)
            identities = vault.known(
                {d.customer for d in defaults} | {c for c, _ in bureau_register}
            )
            plan = plan_report(
                defaults=defaults, register=bureau_register, as_of=as_of, identities=identities
            )
            bureau_text = bureau_file_text(plan.lines, vault)
            held_text = held_back_file_text(plan)
            digest = hashlib.sha256(bureau_text.encode()).hexdigest()
            counts = Counter(line.transaction.value for line in plan.lines)
            counts_out = {kind.value: counts.get(kind.value, 0) for kind in Transaction}

            if existing is not None:
                stored = register.lines_of(existing.id)
                if stored != list(plan.lines) or digest != existing.file_sha256:
                    raise ReportAlreadyMade(
                        f"the report for {as_of.isoformat()} was made on "
                        f"{existing.created_at:%Y-%m-%d %H:%M} UTC and the records for that "
                        "date have changed since; it is kept as sent, and the changes go "
                        "into the next report",
                        field="as_of",
                    )
                run = existing
            else:
                run = register.add_run(
                    run_id=str(uuid.uuid4()),
                    as_of=as_of,
                    created_at=now,
                    created_by=actor,
                    file_name=bureau_name,
                    file_sha256=digest,
                    counts=counts_out,
                    held_back_count=len(plan.held_back),
                    lines=plan.lines,
                )
            by_rule = Counter(failure.rule for item in plan.held_back for failure in item.failures)
            uow.audit_log.append(
                at=now,
                actor=actor,
                action="default_report.repeated" if existing else "default_report.made",
                entity_type=AUDIT_ENTITY_RUN,
                entity_id=run.id,
                details={
                    "as_of": as_of,
                    "file": bureau_name,
                    "file_sha256": digest,
                    "lines": counts_out,
                    "held_back": len(plan.held_back),
                    "held_back_by_rule": dict(sorted(by_rule.items())),
                    "never_reportable": plan.never_reportable,
                },
            )
            try:
                for name, text in ((bureau_name, bureau_text), (held_name, held_text)):
                    temporaries.append(write_temporary(out_dir, name, text))
                for temporary, name in zip(temporaries, (bureau_name, held_name), strict=True):
                    final = out_dir / name
                    os.replace(temporary, final)
                    placed.append(final)
            except OSError as error:
                raise DefaultReportingError(
                    f"cannot write the report into {out_dir}: {error.strerror or error}"
                ) from None
            # Leaving the block commits the run; the files are already complete and in place.
    except BaseException as error:
        # A repeated run's files were replaced by identical ones, so they stay.
        discard(temporaries, placed if existing is None else [])
        if isinstance(error, SQLAlchemyError):
            raise database_unreadable(error) from None
        raise
    return ReportRun(
        run_id=run.id,
        as_of=as_of,
        report_file=out_dir / bureau_name,
        held_back_file=out_dir / held_name,
        counts=counts_out,
        held_back_count=len(plan.held_back),
        held_back_by_rule=dict(sorted(by_rule.items())),
        never_reportable=plan.never_reportable,
        repeated=existing is not None,
    )
