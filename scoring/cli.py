"""The ``installment`` command line: one entry point, a subcommand per job.

Command modules import only Typer at module level and load heavy libraries
inside the command, so ``installment --help`` answers at once.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="installment",
    help="Instalment decision engine: synthetic world, storage, models, decisions and reviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Subcommands, each from the package that owns the job.
from data_contracts.commands import register as _register_contracts  # noqa: E402
from models.commands import register as _register_models  # noqa: E402
from models.world.commands import register as _register_world  # noqa: E402
from review_ui.commands import register as _register_review_ui  # noqa: E402
from scoring.api.commands import register as _register_api  # noqa: E402
from scoring.bench_commands import register as _register_bench  # noqa: E402
from scoring.bureau.commands import register as _register_bureau  # noqa: E402
from scoring.demo_commands import register as _register_demo  # noqa: E402
from scoring.reporting.commands import register as _register_reporting  # noqa: E402
from scoring.review_commands import register as _register_reviews  # noqa: E402
from scoring.service.commands import register as _register_audit  # noqa: E402
from scoring.soak_commands import register as _register_soak  # noqa: E402
from scoring.storage.commands import register as _register_storage  # noqa: E402

_register_demo(app)
_register_world(app)
_register_storage(app)
_register_api(app)
_register_models(app)
_register_bureau(app)
_register_contracts(app)
_register_reporting(app)
_register_review_ui(app)
_register_reviews(app)
_register_audit(app)
_register_bench(app)
_register_soak(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
