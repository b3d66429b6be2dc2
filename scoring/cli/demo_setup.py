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
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from scoring.cli.demo_subjects import register_demo_channel, write_subject_script
from scoring.config import Settings, read_or_create_key

if TYPE_CHECKING:
    from scoring.storage.db import UnitOfWork

DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoAddresses:
    """Where the demo's services listen (``installment demo --host/--*-port``)."""

    host: str = "127.0.0.1"
    api_port: int = 8700
    bureau_port: int = 8701
    mlflow_port: int = 8702

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def api(self) -> str:
        return self.url(self.api_port)

    @property
    def bureau(self) -> str:
        return self.url(self.bureau_port)

    @property
    def mlflow(self) -> str:
        return self.url(self.mlflow_port)

    @property
    def listen_port(self) -> int:
        """A port for ``installment webhooks listen`` beside the demo's own (8799 by default)."""
        return self.api_port + 99 if self.api_port + 99 <= 65535 else self.api_port - 99


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
    # The identity desk whose signed assertions prove a person's identity (demo_subjects.py).
    register_demo_channel(settings=settings, client=DEMO_CLIENT)
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
            # More people than decisions: the loop goes on until every persona is found.
            sample = min(len(people), PERSONA_SEARCH)
            codes = people["personal_code"].sample(n=sample, random_state=DEMO_SEED).tolist()
            contested = 0
            found: dict[str, dict[str, Any]] = {}
            for index, code in enumerate(codes):
                if made >= DEMO_DECISIONS and len(found) == len(PERSONAS):
                    break
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
                kind = persona_kind(view, human_review=request.human_review_requested)
                if kind in ("decline_model", "decline_knockout") and kind in found:
                    kind = "contested"  # a second declined customer, who contests
                if kind is not None and kind not in found:
                    found[kind] = {
                        "personal_code": code,
                        "amount_eur": request.purchase.amount_eur,
                        "term_months": request.purchase.term_months,
                        "product_category": request.purchase.product_category,
                        "human_review_requested": request.human_review_requested,
                    }
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
            write_personas(settings, found)
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


DEMO_DECISIONS = 40
PERSONA_SEARCH = 400


@dataclass(frozen=True)
class Persona:
    """A demo customer whose application gives one outcome of the engine, every time."""

    kind: str
    name: str
    expected: str
    story: str


# In the order the banner, the README and personas.sh show them. ``found`` is the kind of
# decision the customer is chosen by; bureau_down reuses the approved customer.
PERSONAS = {
    "approve": Persona("approve", "Anu", "approve", "pays on time, good bureau rating"),
    "decline_model": Persona(
        "decline_model", "Mart", "decline", "the model's probability of default is too high"
    ),
    "decline_knockout": Persona(
        "decline_knockout", "Kadri", "decline", "a knock-out rule of the policy (e.g. arrears)"
    ),
    "refer_grey_zone": Persona(
        "refer_grey_zone", "Jaan", "refer", "between the cut-offs: a person decides"
    ),
    "pending_review": Persona(
        "pending_review", "Peeter", "pending_review", "asks for a person to decide"
    ),
    "contested": Persona(
        "contested", "Tiina", "decline", "declined, then contests through the API"
    ),
}
BUREAU_DOWN = Persona(
    "refer_bureau_down", "Liis", "refer", "Anu's application while the bureau is down"
)


def persona_kind(view: Any, *, human_review: bool) -> str | None:
    """Which persona a decision could stand for, by its outcome and what made it."""
    if human_review:
        return "pending_review" if view.outcome == "pending_review" else None
    rules = {rule.get("effect") for rule in view.policy_rules}
    if view.outcome == "approve":
        return "approve"
    if view.outcome == "decline":
        return "decline_knockout" if "decline" in rules else "decline_model"
    # Scored, and referred only for the band between the cut-offs (not a missing bureau).
    if view.outcome == "refer" and view.probability_of_default is not None and rules <= {"refer"}:
        return "refer_grey_zone"
    return None


def write_personas(settings: Settings, found: dict[str, dict[str, Any]]) -> Path:
    """Keep the chosen customers in ``<home>/demo/personas.json``."""
    import json

    people = []
    for kind, persona in PERSONAS.items():
        if kind in found:
            people.append({**asdict(persona), **found[kind]})
    if "approve" in found:
        people.append({**asdict(BUREAU_DOWN), **found["approve"]})
    path = settings.home / "demo" / "personas.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(people, indent=2) + "\n")
    return path


# The start of personas.sh (its helpers), with @BUREAU@, @API@ and @KEY_FILE@ filled in.
PERSONAS_SCRIPT_HEAD = Path(__file__).with_name("demo_personas.sh")


def write_personas_script(
    *, settings: Settings, addresses: DemoAddresses, personas: list[dict[str, Any]]
) -> Path:
    """Write ``<home>/demo/personas.sh``: each persona's application, and what it gives."""
    import shlex

    lines = [
        PERSONAS_SCRIPT_HEAD.read_text()
        .replace("@BUREAU@", shlex.quote(addresses.bureau))
        .replace("@API@", shlex.quote(addresses.api))
        .replace("@KEY_FILE@", shlex.quote(str(settings.secrets_dir / "demo-api-key")))
    ]
    for person in personas:
        args = " ".join(
            shlex.quote(str(person[key]))
            for key in ("personal_code", "amount_eur", "term_months", "product_category")
        )
        review = "true" if person["human_review_requested"] else "false"
        ask = f"ask {person['name']} {person['expected']} {args} {review}"
        lines.append(f"# {person['name']}: {person['story']}")
        if person["kind"] == BUREAU_DOWN.kind:
            lines += [
                'curl -sS -o /dev/null -X POST "$BUREAU/admin/faults" '
                "-H 'Content-Type: application/json' -d '{\"down\": true}'",
                'trap \'curl -sS -o /dev/null -X POST "$BUREAU/admin/faults" '
                '-H "Content-Type: application/json" -d "{\\"down\\": false}"\' EXIT',
                ask,
                'curl -sS -o /dev/null -X POST "$BUREAU/admin/faults" '
                "-H 'Content-Type: application/json' -d '{\"down\": false}'",
                "trap - EXIT",
            ]
        elif person["kind"] == "contested":
            lines += [
                ask,
                "decision=$(printf '%s' \"$answer\" | field decision_id)",
                'review=$(curl -sS "$API/v1/decisions/$decision/contest" '
                '-H "Authorization: Bearer $(cat "$KEY_FILE")" '
                "-H 'Content-Type: application/json' "
                '-d \'{"statement": "My late invoices were during a hospital stay."}\')',
                "printf '%-8s contested: review %s, status %s, due on %s\\n' "
                'Tiina "$(printf \'%s\' "$review" | field review_id)" '
                '"$(printf \'%s\' "$review" | field status)" '
                '"$(printf \'%s\' "$review" | field due_on)"',
            ]
        else:
            lines.append(ask)
    lines.append('exit "$failed"')
    script = settings.home / "demo" / "personas.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return script


def read_personas(settings: Settings) -> list[dict[str, Any]]:
    import json

    path = settings.home / "demo" / "personas.json"
    return json.loads(path.read_text()) if path.exists() else []


DEMO_ACCOUNTS = (
    ("reviewer", "reviewer"),
    ("senior", "senior_reviewer"),
    ("auditor", "auditor"),
    ("risk", "risk_analyst"),
    ("approver", "risk_approver"),
    ("oversight", "oversight"),
    ("dpo", "data_protection_officer"),
)


def seed_demo_reviewers(
    *, uow: UnitOfWork, trained_on: date | None = None
) -> list[tuple[str, str, str]]:
    """Create (or reset the password of) the demo accounts; returns (username, role, password).

    One reviewer, one senior reviewer, one auditor, a risk analyst who proposes model and
    policy changes, an approver who approves them, the oversight role that holds the stop
    switch, and a data-protection officer who enters data subjects' requests, with fresh
    passwords.
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
    from models.registry import CHAMPION, champion_version, check_gates, set_alias
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
    # The demo needs a champion to serve whatever its world's size. The gates are run and
    # their verdict shown; a version that fails one is still installed for the demo, and the
    # banner says it would not be promoted in production.
    results = check_gates(version, champion=None, settings=settings)
    set_alias(CHAMPION, version, settings=settings)
    auc = outcome.evaluations[outcome.recommended].metrics["auc"]
    console.print(
        f"[green]✓[/] trained installment-pd version {version} and installed it as the demo's "
        f"champion ({outcome.recommended}, AUC {auc:.3f}); report {outcome.report}",
        soft_wrap=True,
    )
    for failed in (r for r in results if not r.passed):
        console.print(
            f"[yellow]![/] promotion gate {failed.gate} failed: {failed.detail}; in production "
            "this version would not be promoted (see `installment promote`)",
            soft_wrap=True,
            highlight=False,
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


def mlflow_ui_command(settings: Settings, *, port: int = DemoAddresses.mlflow_port) -> list[str]:
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
        str(port),
        "--workers",
        "1",
    ]


def _wait_until_up(url: str, *, name: str, console: Console, seconds: float = 120.0) -> None:
    """Wait for ``url`` to answer 200; say so and go on if it has not after ``seconds``."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    console.print(f"[yellow]![/] the {name} did not answer {url} within {seconds:.0f} s")


def run(
    *,
    settings: Settings,
    customers: int,
    serve: bool,
    console: Console,
    addresses: DemoAddresses | None = None,
) -> DemoState:
    """Set up, print where everything is, then serve until interrupted (unless ``serve`` is
    false: then the same summary is printed and the services are not started)."""
    addresses = addresses or DemoAddresses()
    console.rule("Installment decision engine: demo")
    state = prepare(settings=settings, customers=customers, console=console)
    script = write_try_script(settings=settings, addresses=addresses)
    personas = read_personas(settings)
    personas_script = write_personas_script(
        settings=settings, addresses=addresses, personas=personas
    )
    print_summary(state=state, addresses=addresses, script=script, console=console)
    print_personas(personas=personas, script=personas_script, console=console)
    subject_script = write_subject_script(settings=settings, api=addresses.api)
    example = personas[0]["personal_code"] if personas else "CODE"
    console.print(
        "A data-subject request with proof of identity (access, erasure or objection):\n"
        f"  bash {subject_script} {example} access\n",
        soft_wrap=True,
        highlight=False,
        markup=False,  # the brackets are the script's arguments, not rich markup
    )
    if not serve:
        console.print("Services not started (--no-serve); `make demo` starts them.")
        return state

    import uvicorn

    from scoring.bootstrap import build_runtime, create_server_app

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
                    "--host",
                    addresses.host,
                    "--port",
                    str(addresses.bureau_port),
                ],
                name="bureau simulator",
                log=logs / "bureau-sim.log",
            )
        )
        stack.enter_context(
            _background(
                mlflow_ui_command(settings, port=addresses.mlflow_port),
                name="MLflow UI",
                log=logs / "mlflow.log",
            )
        )
        # Ready means ready: the personas' answers depend on the bureau answering.
        _wait_until_up(f"{addresses.bureau}/healthz", name="bureau simulator", console=console)
        # The API asks the simulator this demo started, wherever its port is.
        runtime = build_runtime(settings=replace(settings, bureau_url=addresses.bureau))
        stack.callback(runtime.close)
        # Every move of a review case reaches the receivers registered for the demo's client
        # (`installment webhooks listen`), as `installment serve` delivers them.
        from scoring.service.webhooks import DeliveryWorker

        delivery = DeliveryWorker(uow_factory=runtime.unit_of_work, clock=runtime.clock)
        stack.callback(delivery.stop)
        delivery.start()
        console.print("Stop with Ctrl-C.")
        uvicorn.run(
            create_server_app(runtime),
            host=addresses.host,
            port=addresses.api_port,
            log_level="warning",
        )
    return state


def print_summary(
    *, state: DemoState, addresses: DemoAddresses, script: Path, console: Console
) -> None:
    """Where each service is, the key and accounts, and how to ask for a decision."""
    base = addresses.api
    console.rule("Open")
    console.print(f"Decision API (OpenAPI docs)  {base}/docs")
    console.print(f"Reviewer web UI              {base}/review/")
    console.print(
        f"Health, readiness, metrics   {base}/healthz  {base}/readyz  {base}/metrics",
        soft_wrap=True,
    )
    console.print(f"Bureau simulator             {addresses.bureau}/healthz")
    console.print(f"MLflow (models, runs)        {addresses.mlflow}")
    for line in state.lines:
        # Paths and keys stay whole on one line however long the home folder's path is.
        console.print(line, soft_wrap=True, highlight=False)
    console.print("")
    console.print("Ask for a decision (the script reads the demo key from its file):")
    # soft_wrap: a long path stays on one line, so the command pastes as it is.
    console.print(f"  bash {script} PERSONAL_CODE", soft_wrap=True, highlight=False)
    console.print("")
    console.print(
        "Watch every review case move, from opening to outcome, as the sales system would "
        "(another terminal):"
    )
    console.print(
        f"  .venv/bin/installment webhooks listen --client {DEMO_CLIENT} "
        f"--port {addresses.listen_port}",
        soft_wrap=True, highlight=False,
    )  # fmt: skip
    console.print("")


# The script's text, with @API@ and @KEY_FILE@ filled in for this demo.
def print_personas(*, personas: list[dict[str, Any]], script: Path, console: Console) -> None:
    """The demo's customers, one per outcome, and the script that asks for each."""
    if not personas:
        return
    console.print("Demo customers, one per outcome:")
    for person in personas:
        console.print(
            f"  {person['name']:<7} {person['expected']:<15} {person['personal_code']}  "
            f"{person['amount_eur']:g} EUR / {person['term_months']} months "
            f"{person['product_category']}: {person['story']}",
            soft_wrap=True,
            highlight=False,
        )
    console.print("All of them at once, each with its expected and actual outcome:")
    console.print(f"  bash {script}", soft_wrap=True, highlight=False)
    console.print("")


TRY_SCRIPT = Path(__file__).with_name("demo_decide.sh")


def write_try_script(*, settings: Settings, addresses: DemoAddresses) -> Path:
    """Write ``<home>/demo/decide.sh``, which asks the demo API for one decision."""
    import shlex

    script = settings.home / "demo" / "decide.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    text = TRY_SCRIPT.read_text()
    text = text.replace("@API@", shlex.quote(addresses.api))
    text = text.replace("@KEY_FILE@", shlex.quote(str(settings.secrets_dir / "demo-api-key")))
    script.write_text(text)
    script.chmod(0o755)
    return script
