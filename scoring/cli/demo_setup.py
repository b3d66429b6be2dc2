"""``installment demo``: set everything up on embedded defaults and run the product.

Each step is idempotent, so running the demo again reuses what the last run made. The demo
reviewer accounts (``installment demo-seed`` makes them alone) are set up here too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from scoring.config import Settings, read_or_create_key

if TYPE_CHECKING:
    from scoring.storage.db import UnitOfWork

DEMO_SEED = 2026
API_PORT = 8700
BUREAU_PORT = 8701
MLFLOW_PORT = 8702


@dataclass
class DemoState:
    """What the set-up made, for the closing summary."""

    world_dir: Path
    champion: str | None = None
    lines: list[str] = field(default_factory=list)


def prepare(
    *, settings: Settings, customers: int, console: Console, as_of: date | None = None
) -> DemoState:
    """Generate the world (observed today unless told), load it, and make sure a champion exists."""
    world_dir = settings.home / "world"
    state = DemoState(world_dir=world_dir)
    _world(world_dir, customers=customers, as_of=as_of or datetime.now(UTC).date(), console=console)
    _database(settings, world_dir, console=console)
    state.champion = _champion(settings, world_dir, console=console)
    state.lines.extend(_people_and_cases(settings, world_dir, console=console))
    return state


DEMO_CLIENT = "demo-sales-system"
DEMO_SCOPES = (
    "decisions:write",
    "decisions:read",
    "reviews:write",
    "reviews:read",
    "subjects:write",
)
CONTEST_STATEMENTS = (
    "The late invoices were during a hospital stay; everything has been paid since. "
    "Please look at my payments again.",
    "I changed banks in the spring and two direct debits failed without my knowing. "
    "I paid them as soon as I found out.",
    "The bureau entry is from a company I never dealt with; I have asked the bureau to correct it.",
)


def _people_and_cases(settings: Settings, world_dir: Path, *, console: Console) -> list[str]:
    """A sales-system key, reviewer accounts and, on the first run, decisions and contests."""
    from data_contracts.requests import DecisionRequest
    from data_contracts.world_folder import read_frame
    from scoring.bootstrap import build_runtime
    from scoring.bureau.simulator import ReportSource, in_process_transport
    from scoring.service.api_keys import authenticate, create_api_key
    from scoring.service.decisions import make_decision
    from scoring.service.reviews import contest_decision

    runtime = build_runtime(
        settings=settings,
        bureau_transport=in_process_transport(ReportSource.from_world(world_dir)),
        poll_models=False,
    )
    try:
        with runtime.unit_of_work() as uow:
            issued = create_api_key(uow=uow, client=DEMO_CLIENT, scopes=DEMO_SCOPES)
        with runtime.unit_of_work() as uow:
            accounts = seed_demo_reviewers(uow=uow)
        with runtime.unit_of_work() as uow:
            client = authenticate(session=uow.session, presented=issued.key)
            cases = uow.review_cases.exist()
        made = 0
        if not cases:
            people = read_frame(world_dir, "customers.parquet", columns=["personal_code"])
            codes = people["personal_code"].sample(n=40, random_state=DEMO_SEED).tolist()
            contested = 0
            for index, code in enumerate(codes):
                request = DecisionRequest.model_validate(
                    {
                        "application_id": f"DEMO-{index + 1:04d}",
                        "personal_code": code,
                        "purchase": {
                            "amount_eur": [1800, 3500, 900, 7200][index % 4],
                            "term_months": [12, 24, 6, 36][index % 4],
                            "product_category": [
                                "electronics",
                                "heat_pump",
                                "phone",
                                "solar_panels",
                            ][index % 4],
                        },
                        "channel": "web",
                        "human_review_requested": index % 13 == 5,
                    }
                )
                with runtime.unit_of_work() as uow:
                    view = make_decision(
                        request=request,
                        client=client,
                        idempotency_key=None,
                        uow=uow,
                        bureau=runtime.bureau,
                        models=runtime.models,
                        policy=runtime.policy,
                        pseudonym_key=runtime.pseudonym_key,
                        clock=runtime.clock,
                    )
                made += 1
                if view.automated and contested < len(CONTEST_STATEMENTS):
                    with runtime.unit_of_work() as uow:
                        contest_decision(
                            uow=uow,
                            decision_id=view.decision_id,
                            client=client.client_id,
                            statement=CONTEST_STATEMENTS[contested],
                            clock=runtime.clock,
                        )
                    contested += 1
            console.print(f"[green]✓[/] {made} demo decisions made, {contested} of them contested")
    finally:
        runtime.close()
    key_file = settings.secrets_dir / "demo-api-key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(issued.key + "\n")
    key_file.chmod(0o600)
    lines = [
        "",
        "Sales-system API key (also in " + str(key_file) + "):",
        f"  {issued.key}",
        "",
        "Reviewer accounts (passwords are new on every demo start):",
    ]
    lines += [f"  {username:10} {role:16} {password}" for username, role, password in accounts]
    return lines


DEMO_ACCOUNTS = (
    ("reviewer", "reviewer"),
    ("senior", "senior_reviewer"),
    ("auditor", "auditor"),
    ("risk", "risk_analyst"),
    ("approver", "risk_approver"),
    ("oversight", "oversight"),
)


def seed_demo_reviewers(
    *, uow: UnitOfWork, trained_on: date | None = None
) -> list[tuple[str, str, str]]:
    """Create (or reset the password of) the demo accounts; returns (username, role, password).

    One reviewer, one senior reviewer, one auditor, a risk analyst who proposes model and
    policy changes, an approver who approves them, and the oversight role that holds the
    stop switch, with fresh passwords.
    """
    from review_ui.accounts import account_exists, add_user, set_password

    seeded = []
    for username, role in DEMO_ACCOUNTS:
        # Random per run: a demo database copied elsewhere does not carry a known password.
        password = f"demo-{secrets.token_urlsafe(9)}"
        if not account_exists(uow=uow, username=username):
            add_user(
                uow=uow,
                username=username,
                role=role,
                password=password,
                training_completed_on=trained_on,
            )
        else:
            set_password(uow=uow, username=username, password=password, role=role)
        seeded.append((username, role, password))
    return seeded


def _world(world_dir: Path, *, customers: int, as_of: date, console: Console) -> None:
    from models.world import generate_world, write_world

    if (world_dir / "manifest.json").exists():
        console.print(f"[green]✓[/] synthetic world already in {world_dir}")
        return
    with console.status(f"generating a synthetic world of {customers:,} customers"):
        world = generate_world(customers=customers, seed=DEMO_SEED, as_of=as_of)
        write_world(world, world_dir)
    console.print(f"[green]✓[/] generated {customers:,} customers as of {as_of} in {world_dir}")


def _database(settings: Settings, world_dir: Path, *, console: Console) -> None:
    from scoring.storage.db import create_engine_for
    from scoring.storage.ingest import ingest_world
    from scoring.storage.migrate import upgrade

    upgrade(settings.database_url)
    engine = create_engine_for(settings.database_url)
    try:
        with console.status("loading the world into the database"):
            summary = ingest_world(
                world_dir=world_dir,
                engine=engine,
                pseudonym_key=read_or_create_key(settings.pseudonym_key_file),
                vault_key=read_or_create_key(settings.identity_vault_key_file),
            )
    finally:
        engine.dispose()
    inserted = sum(t.inserted for t in summary.tables.values())
    console.print(f"[green]✓[/] database ready ({inserted:,} new rows)")


def _champion(settings: Settings, world_dir: Path, *, console: Console) -> str:
    from data_contracts.loader import load_contract
    from models.evaluation.fairness import read_world_groups
    from models.evaluation.report import read_truth
    from models.registry import champion_version, promote
    from models.training.run import default_run_dir, snapshot_from_world, train_run

    current = champion_version(settings=settings)
    if current is not None:
        console.print(f"[green]✓[/] champion model installment-pd version {current}")
        return current
    with console.status("training the first models (LightGBM and a WoE scorecard)") as status:
        outcome = train_run(
            snapshot_from_world(world_dir),
            load_contract("training_snapshot"),
            run_dir=default_run_dir(settings),
            truth=read_truth(world_dir),
            groups=read_world_groups(world_dir),
            settings=settings,
            bootstrap_resamples=50,
            progress=lambda message: status.update(message),
        )
    version = outcome.versions[outcome.recommended]
    promote(version, settings=settings)
    auc = outcome.evaluations[outcome.recommended].metrics["auc"]
    console.print(
        f"[green]✓[/] trained and promoted installment-pd version {version} "
        f"({outcome.recommended}, AUC {auc:.3f}); report {outcome.report}"
    )
    return version


@contextlib.contextmanager
def _background(command: list[str], *, name: str, log: Path) -> Iterator[subprocess.Popen]:
    """Run a helper process for the demo's lifetime, its output in a log file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        # Its own process group, so the servers it starts in turn stop with it.
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def mlflow_ui_command(settings: Settings) -> list[str]:
    """The demo's MLflow UI: on 127.0.0.1 only, never on a public address.

    The MLflow server has no authentication of its own here; anyone who reaches it can move
    an alias. The engine serves only the champion approved in its own record, so such a move
    is ignored and reported, but the UI still stays on the loopback address
    (``docs/models.md`` says how to put it behind authentication elsewhere).
    """
    return [
        str(Path(sys.executable).with_name("mlflow")),
        "ui",
        "--backend-store-uri",
        settings.mlflow_tracking_uri,
        "--default-artifact-root",
        str(settings.mlflow_artifact_root),
        "--host",
        "127.0.0.1",
        "--port",
        str(MLFLOW_PORT),
        "--workers",
        "1",
    ]


def run(*, settings: Settings, customers: int, serve: bool, console: Console) -> DemoState:
    """Set up, then serve until interrupted (or return at once when ``serve`` is false)."""
    console.rule("Installment decision engine: demo")
    state = prepare(settings=settings, customers=customers, console=console)
    if not serve:
        return state

    import uvicorn

    from scoring.bootstrap import create_server_app

    # A plain SIGTERM must unwind through the clean-up below, not end the process on the spot.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    installment = str(Path(sys.executable).with_name("installment"))
    logs = settings.home / "logs"
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            _background(
                [
                    installment,
                    "bureau-sim",
                    "--world",
                    str(state.world_dir),
                    "--port",
                    str(BUREAU_PORT),
                ],
                name="bureau simulator",
                log=logs / "bureau-sim.log",
            )
        )
        stack.enter_context(
            _background(mlflow_ui_command(settings), name="MLflow UI", log=logs / "mlflow.log")
        )
        time.sleep(1.0)
        base = f"http://127.0.0.1:{API_PORT}"
        console.rule("Open")
        console.print(f"Decision API (OpenAPI docs)  {base}/docs")
        console.print(f"Reviewer web UI              {base}/review/")
        console.print(f"Health, readiness, metrics   {base}/healthz  {base}/readyz  {base}/metrics")
        console.print(f"Bureau simulator             http://127.0.0.1:{BUREAU_PORT}/healthz")
        console.print(f"MLflow (models, runs)        http://127.0.0.1:{MLFLOW_PORT}")
        for line in state.lines:
            console.print(line)
        console.print("")
        console.print("Ask for a decision (the demo key is read from its file):")
        console.print(
            f'  curl -s {base}/v1/decisions -H "Authorization: Bearer $(cat '
            f"{settings.secrets_dir / 'demo-api-key'})\" -H 'Content-Type: application/json' "
            '-d \'{"application_id": "A-1", "personal_code": "37605030299", '
            '"purchase": {"amount_eur": 1500, "term_months": 12, '
            '"product_category": "electronics"}, "channel": "web"}\''
        )
        console.print("Stop with Ctrl-C.")
        uvicorn.run(create_server_app(), host="127.0.0.1", port=API_PORT, log_level="warning")
    return state
