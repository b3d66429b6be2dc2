"""`installment generate` through the real Typer app: one-line refusals, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scoring.cli import app

runner = CliRunner()


def _generate(*arguments: str):
    return runner.invoke(app, ["generate", *arguments])


def test_generate_writes_a_world_and_world_stats_reads_it(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = _generate(
        "--customers", "300", "--seed", "5", "--out", str(out), "--as-of", "2024-12-31"
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["as_of"] == "2024-12-31"

    stats = runner.invoke(app, ["world-stats", str(out)])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["customers"] == 300


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--customers", "0", "--seed", "1"], "customers must be between 1 and 1,000,000"),
        (["--customers", "-5", "--seed", "1"], "customers must be between 1 and 1,000,000"),
        (["--customers", "9000000", "--seed", "1"], "customers must be between 1 and 1,000,000"),
        (["--customers", "many", "--seed", "1"], "--customers must be a whole number"),
        (["--customers", "10", "--seed", "abc"], "--seed must be a whole number"),
        (["--customers", "10", "--seed", "-3"], "seed must be a whole number between 0"),
        (["--customers", "10", "--seed", "1", "--as-of", "30.06.2025"], "--as-of must be a date"),
        (["--customers", "10", "--seed", "1", "--as-of", "2025-02-30"], "--as-of must be a date"),
    ],
)
def test_nonsense_arguments_are_refused_in_one_line(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    out = tmp_path / "world"
    result = _generate(*arguments, "--out", str(out))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_occupied_out_folder_is_refused_and_left_untouched(tmp_path: Path) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8")
    for extra in ([], ["--force"]):
        result = _generate("--customers", "10", "--seed", "1", "--out", str(out), *extra)
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1
        assert "photos" in result.stderr
    assert [path.name for path in tmp_path.rglob("*")] == ["photos", "holiday.jpg"]


def test_force_replaces_a_previous_world(tmp_path: Path) -> None:
    out = tmp_path / "world"
    common = ["--customers", "50", "--out", str(out), "--as-of", "2025-01-31"]
    assert _generate(*common, "--seed", "1").exit_code == 0
    refused = _generate(*common, "--seed", "2")
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert _generate(*common, "--seed", "2", "--force").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
