"""Every `installment` command the README shows exists, with the options it is shown with.

The README calls the command where `make` installs it (`.venv/bin/installment`), so a
newcomer can paste each example; this keeps the examples in step with the command line.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scoring.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
SHOWN = re.compile(r"\.venv/bin/installment((?: [^`\n#]*)?)")


def _examples() -> list[str]:
    return sorted({match.strip() for match in SHOWN.findall(README.read_text())})


def test_the_readme_calls_the_command_where_make_installs_it():
    text = README.read_text()
    assert _examples(), "the README shows no command"
    # No bare `installment ...` command line in a shell block: it is not on the PATH.
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            assert not line.startswith("installment "), line


@pytest.mark.parametrize("example", _examples())
def test_each_readme_command_exists_with_its_options(example):
    words = shlex.split(example)
    path = [w for w in words if not w.startswith("-")]
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    # The command path is the leading words that name commands (not their arguments).
    result = None
    # At least the first word must be a command (`--help` alone is the top level).
    for length in range(len(path), 0 if path else -1, -1):
        attempt = CliRunner().invoke(app, [*path[:length], "--help"])
        if attempt.exit_code == 0:
            result = attempt
            break
    assert result is not None, f"no command for {example!r}"
    for option in options:
        assert option in result.output, f"{example!r}: {option} is not an option"
