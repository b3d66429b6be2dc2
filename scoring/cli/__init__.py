"""The ``installment`` command line: one entry point, a subcommand per job.

Each command lives in the module of this package named after it; what several share (the
``--database-url`` option, the ``error: ...`` exit, opening the database) is in
:mod:`scoring.cli.common`. Command modules import only Typer at module level and load heavy
libraries inside the command, so ``installment --help`` answers at once.
"""

from __future__ import annotations

import typer

from scoring.cli import (
    api_key,
    audit,
    automation,
    bench,
    bureau,
    change,
    db,
    defaults,
    demo,
    model,
    retention,
    serve,
    simulate,
    soak,
    subject,
    user,
    webhooks,
    world,
)

app = typer.Typer(
    name="installment",
    help="Instalment decision engine: synthetic world, storage, models, decisions and reviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# In the order `installment --help` lists them (commands first, then the groups).
app.command()(demo.demo)
app.command()(world.generate)
app.command("world-stats")(world.world_stats)
app.command("db-upgrade")(db.db_upgrade)
app.command("ingest")(db.ingest)
app.command()(serve.serve)
app.add_typer(api_key.api_key_app, name="api-key")
app.command("train")(model.train)
app.command("promote")(change.promote)
app.command("rollback")(change.rollback)
app.add_typer(change.change_app, name="change")
app.add_typer(automation.automation_app, name="automation")
app.command("monitor")(model.monitor)
app.command("model-card")(model.model_card)
app.command("simulate")(simulate.simulate)
app.command("bureau-sim")(bureau.bureau_sim)
app.command("retention-sweep")(retention.retention_sweep)
app.add_typer(subject.subject_app, name="subject")
app.command("report-defaults")(defaults.report_defaults)
app.add_typer(defaults.default_app, name="default")
app.add_typer(user.user_app, name="user")
app.command("demo-seed")(demo.demo_seed)
app.add_typer(webhooks.webhooks_app, name="webhooks")
# `installment webhook add` reads naturally too; same commands, hidden from the listing.
app.add_typer(webhooks.webhooks_app, name="webhook", hidden=True)
app.add_typer(audit.audit_app, name="audit")
app.command()(bench.bench)
app.command()(soak.soak)


def main() -> None:  # pragma: no cover - console entry point
    app()
