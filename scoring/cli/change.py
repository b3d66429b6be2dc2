"""``installment promote``, ``rollback`` and ``change ...``: four-eyes change control.

A person names themselves with ``--as`` and gives their password (prompted, or one line on
standard input with ``--password-stdin``); the same account, role and lock-out as the
reviewer web UI. ``promote`` proposes a champion (its promotion gates must pass),
``rollback`` proposes the previously approved champion (no comparison gate applies), and
``change approve`` by a different person with the risk_approver role makes either take
effect. Every step is in the audit log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_unit_of_work

if TYPE_CHECKING:
    from datetime import datetime

    from scoring.domain.change_control import ChangeRecord
    from scoring.domain.permissions import Actor
    from scoring.service.change_control import ChangeRegistry

change_app = typer.Typer(
    help="Model and policy change requests: list, show, approve, refuse (four eyes).",
    no_args_is_help=True,
)

AsOption = Annotated[
    str, typer.Option("--as", help="Your account (the audit log names you).", show_default=False)
]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read your password from standard input.")
]


def _registry() -> ChangeRegistry:
    from typing import cast

    from models import registry
    from scoring.service.change_control import ChangeRegistry

    return cast(ChangeRegistry, registry)


def _errors() -> tuple[type[BaseException], ...]:
    from scoring.domain.errors import EngineError

    return (EngineError, OSError, ValueError)


def acting_person(database_url: str | None, username: str, password_stdin: bool) -> Actor:
    """The account named by ``--as``, after its password is checked."""
    from review_ui.accounts import AccountError, authenticate

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password of {username}", hide_input=True)
    try:
        with migrated_unit_of_work(database_url) as uow:
            return authenticate(uow=uow, username=username, password=password, now=now_utc())
    except AccountError:
        raise fail(f"sign-in as {username!r} refused: wrong account or password") from None


def now_utc() -> datetime:
    """The time of an action, in UTC."""
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _show(change: ChangeRecord, *, gates: list[dict[str, Any]] | None = None,
          attachments: dict[str, Any] | None = None, stale: str | None = None) -> None:  # fmt: skip
    typer.echo(f"change {change.id}: {change.subject} [{change.status.value}]")
    if stale is not None:
        typer.echo(f"  can no longer be approved: {stale}; refuse it and propose it again")
    typer.echo(
        f"  proposed by {change.proposed_by_name or 'the system'} at "
        f"{change.proposed_at:%Y-%m-%d %H:%M} UTC: {change.reason}"
    )
    if change.replaced:
        typer.echo(f"  replaces the champion, {change.replaced}")
    for gate in gates or []:
        typer.echo(f"  gate {gate['gate']}: {'passed' if gate['passed'] else 'FAILED'} "
                   f"({gate['detail']})")  # fmt: skip
    for name, where in (attachments or {}).items():
        if name == "previous_approval":  # a rollback's target: the change that approved it
            typer.echo(f"  previously approved in change {where}")
        else:
            typer.echo(f"  attached {name}: {where}")
    if change.decided_at is not None:
        by = change.decided_by_name or "the system"
        typer.echo(
            f"  {change.status.value} by {by} at {change.decided_at:%Y-%m-%d %H:%M} UTC"
            + (f": {change.decision_note}" if change.decision_note else "")
        )


ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        help="Registered model name (a user's model: the name training printed).",
    ),
]
ContractOption = Annotated[
    Path | None,
    typer.Option(
        "--contract",
        help="The contract a user's model was trained on, wherever it lives (its gates use it).",
    ),
]
GatesOption = Annotated[
    Path | None,
    typer.Option("--gates", help="Gates file (default: models/training/promotion_gates.yaml)."),
]


def promote(
    version: Annotated[str, typer.Argument(help="Registered version number of the model.")],
    acting: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why this version should decide.")],
    alias: Annotated[str, typer.Option("--alias", help="champion or challenger.")] = "champion",
    model: ModelOption = "installment-pd",
    contract: ContractOption = None,
    gates: GatesOption = None,
    simulation: Annotated[
        Path | None,
        typer.Option(
            "--simulation", help="The simulation report to attach (installment simulate)."
        ),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Propose a version as champion (its gates must pass); a second person approves it.

    ``--alias challenger`` moves the shadow model at once when its gates pass: a challenger
    never decides.
    """
    if alias not in ("champion", "challenger"):
        raise fail(f"alias must be champion or challenger, got {alias!r}")
    if simulation is not None and not simulation.is_file():
        raise fail(f"simulation report {simulation} does not exist")
    _check_files(contract=contract, gates=gates)
    person = acting_person(database_url, acting, password_stdin)
    if alias == "challenger":
        from models.registry import promote as promote_version

        try:
            results = promote_version(
                version, alias=alias, gates_file=gates, model_name=model, contract_file=contract
            )
        except _errors() as error:
            raise fail(str(error)) from None
        for result in results:
            typer.echo(f"passed {result.gate}: {result.detail}")
        typer.echo(f"{model} version {version} is now challenger (scored in shadow)")
        return
    from scoring.service.change_control import propose_champion

    try:
        with migrated_unit_of_work(database_url) as uow:
            change = propose_champion(
                uow=uow, registry=_registry(), actor=person, version=version, reason=reason,
                now=now_utc(), gates_file=gates, model_name=model, contract_file=contract,
                attachments={"simulation": simulation.resolve() if simulation else None},
            )  # fmt: skip
            _, gate_rows, attachments = _details(uow, change.id)
    except _errors() as error:
        raise fail(str(error)) from None
    _show(change, gates=gate_rows, attachments=attachments)
    typer.echo(
        f"proposed; it takes effect when a second person runs "
        f"`installment change approve {change.id} --as USER`"
    )


def rollback(
    acting: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why the champion goes back.")],
    model: ModelOption = "installment-pd",
    contract: ContractOption = None,
    gates: GatesOption = None,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Propose going back to the previously approved champion (never blocked by comparisons).

    ``--model NAME`` rolls back a user's model (with its ``--contract`` or ``--gates``); the
    champion the API serves is then not touched.
    """
    from scoring.service.change_control import propose_rollback

    _check_files(contract=contract, gates=gates)
    person = acting_person(database_url, acting, password_stdin)
    try:
        with migrated_unit_of_work(database_url) as uow:
            change = propose_rollback(
                uow=uow, registry=_registry(), actor=person, reason=reason, now=now_utc(),
                model_name=model, gates_file=gates, contract_file=contract,
            )  # fmt: skip
            _, gate_rows, attachments = _details(uow, change.id)
    except _errors() as error:
        raise fail(str(error)) from None
    _show(change, gates=gate_rows, attachments=attachments)
    typer.echo(
        f"rollback proposed; it takes effect when a second person runs "
        f"`installment change approve {change.id} --as USER`"
    )


def _check_files(*, contract: Path | None, gates: Path | None) -> None:
    """Refuse a named contract or gates file that is not there, before anything else."""
    if contract is not None and not contract.is_file():
        raise fail(f"contract file {contract} does not exist")
    if gates is not None and not gates.is_file():
        raise fail(f"gates file {gates} does not exist")


def _details(uow, change_id: int):  # type: ignore[no-untyped-def]
    from scoring.service.change_control import change_details

    return change_details(uow=uow, change_id=change_id)


@change_app.command("sign-off-fairness")
def sign_off_fairness(
    version: Annotated[str, typer.Argument(help="Registered version number of the model.")],
    acting: AsOption,
    reason: Annotated[
        str, typer.Option("--reason", help="What you reviewed and why the groups are acceptable.")
    ],
    model: ModelOption = "installment-pd",
    contract: ContractOption = None,
    gates: GatesOption = None,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Sign off a fairness gate with not enough data to judge (risk_approver role; audited).

    Read the run report's group tables and intervals first. Only a gate that failed for want
    of data can be signed off, never a gap above its bound; the change is then proposed and
    approved as any other (four eyes).
    """
    from scoring.service.change_control import sign_off_fairness as sign_off

    _check_files(contract=contract, gates=gates)
    person = acting_person(database_url, acting, password_stdin)
    try:
        with migrated_unit_of_work(database_url) as uow:
            attributes = sign_off(
                uow=uow, registry=_registry(), actor=person, version=version, reason=reason,
                now=now_utc(), model_name=model, gates_file=gates, contract_file=contract,
            )  # fmt: skip
    except _errors() as error:
        raise fail(str(error)) from None
    typer.echo(
        f"fairness of {model} version {version} signed off by {person.username} for "
        f"{', '.join(attributes)} (not enough data to judge); recorded in the audit log. "
        f"Propose it with `installment promote {version} --model {model} --as USER`"
    )


@change_app.command("list")
def list_changes(
    model: Annotated[
        str | None,
        typer.Option("--model", help="Only this registered model's champion and changes."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Every change request, newest first, with who proposed and who decided it.

    First the approved champion of every model that has one: the product's (the one the API
    serves), then users' models by name.
    """
    from scoring.domain.change_control import PRODUCT_MODEL
    from scoring.service import change_control

    try:
        with migrated_unit_of_work(database_url) as uow:
            changes = change_control.list_changes(uow=uow, model=model)
            champions = change_control.approved_champions(uow=uow, model=model)
            stale = change_control.stale_changes(uow=uow)
    except _errors() as error:
        raise fail(str(error)) from None
    if model in (None, PRODUCT_MODEL) and not any(c.model == PRODUCT_MODEL for c in champions):
        typer.echo(f"no approved champion of {PRODUCT_MODEL} is recorded")
    elif model is not None and not champions:
        typer.echo(f"no approved champion of {model} is recorded")
    for champion in champions:
        if champion.model == PRODUCT_MODEL:
            typer.echo(
                f"approved champion: model version {champion.model_version} (change {champion.id})"
            )
        else:
            typer.echo(
                f"approved champion of {champion.model}: version {champion.model_version} "
                f"(change {champion.id})"
            )
    if not changes:
        typer.echo("no change requests" + (f" of model {model}" if model else ""))
    for change in changes:
        _show(change, stale=stale.get(change.id))


@change_app.command("show")
def show(
    change_id: Annotated[int, typer.Argument(help="The change request's number.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """One change request with its gate results and attachments."""
    from scoring.service import change_control

    try:
        with migrated_unit_of_work(database_url) as uow:
            change, gate_rows, attachments = _details(uow, change_id)
            stale = change_control.stale_changes(uow=uow).get(change.id)
    except _errors() as error:
        raise fail(str(error)) from None
    _show(change, gates=gate_rows, attachments=attachments, stale=stale)


@change_app.command("approve")
def approve(
    change_id: Annotated[int, typer.Argument(help="The change request's number.")],
    acting: AsOption,
    note: Annotated[str, typer.Option("--note", help="What you checked.")] = "",
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Approve a change proposed by someone else (risk_approver role); it takes effect."""
    from scoring.service.change_control import approve_change

    person = acting_person(database_url, acting, password_stdin)
    try:
        with migrated_unit_of_work(database_url) as uow:
            change = approve_change(
                uow=uow, registry=_registry(), actor=person, change_id=change_id, note=note,
                now=now_utc(),
            )  # fmt: skip
    except _errors() as error:
        raise fail(str(error)) from None
    _show(change)
    from scoring.domain.change_control import PRODUCT_MODEL

    if change.model not in (None, PRODUCT_MODEL):
        typer.echo(
            f"approved; {change.model}'s champion alias now points to version "
            f"{change.model_version} (the API serves only {PRODUCT_MODEL})"
        )
        return
    typer.echo("approved; every API process serves it within a few seconds")


@change_app.command("refuse")
def refuse(
    change_id: Annotated[int, typer.Argument(help="The change request's number.")],
    acting: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is refused.")],
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Refuse a change proposed by someone else (risk_approver role), with the reason."""
    from scoring.service.change_control import refuse_change

    person = acting_person(database_url, acting, password_stdin)
    try:
        with migrated_unit_of_work(database_url) as uow:
            change = refuse_change(
                uow=uow, actor=person, change_id=change_id, note=reason, now=now_utc()
            )
    except _errors() as error:
        raise fail(str(error)) from None
    _show(change)


@change_app.command("propose-policy")
def propose_policy_file(
    policy_file: Annotated[Path, typer.Argument(help="The policy YAML file (one version).")],
    acting: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why this policy should apply.")],
    effective_from: Annotated[
        str | None,
        typer.Option(
            "--effective-from",
            help="When it takes effect, ISO time with zone (default: the file's date, 00:00 UTC).",
        ),
    ] = None,
    simulation: Annotated[
        Path | None,
        typer.Option(
            "--simulation", help="The simulation report to attach (installment simulate)."
        ),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Propose a policy version to take effect from a date; a second person approves it."""
    from datetime import datetime

    import yaml

    from scoring.domain.policy import Policy, PolicyError
    from scoring.service.change_control import propose_policy

    try:
        document = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    except OSError as error:
        raise fail(f"cannot read policy file {policy_file}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise fail(f"policy file {policy_file} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise fail(f"policy file {policy_file} does not hold a mapping")
    try:
        policy = Policy.from_mapping(document)
    except PolicyError as error:
        raise fail(f"policy file {policy_file}: {error.message}") from None
    starts = None
    if effective_from is not None:
        try:
            starts = datetime.fromisoformat(effective_from)
        except ValueError:
            raise fail(
                f"--effective-from must be an ISO time like 2027-01-01T00:00+00:00, "
                f"got {effective_from!r}"
            ) from None
    if simulation is not None and not simulation.is_file():
        raise fail(f"simulation report {simulation} does not exist")
    person = acting_person(database_url, acting, password_stdin)
    try:
        with migrated_unit_of_work(database_url) as uow:
            change = propose_policy(
                uow=uow, actor=person, policy=policy, effective_from=starts,
                policy_effective_date=policy.effective_from, reason=reason, now=now_utc(),
                attachments={"simulation": simulation.resolve() if simulation else None,
                             "policy_file": policy_file.resolve()},
                document=document,
            )  # fmt: skip
    except _errors() as error:
        raise fail(str(error)) from None
    _show(change)
    typer.echo(
        f"proposed; it takes effect at its date once a second person runs "
        f"`installment change approve {change.id} --as USER`"
    )
