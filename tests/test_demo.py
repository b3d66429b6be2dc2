"""`make demo` sets everything up on embedded defaults, and a second run reuses it."""

from datetime import date

from rich.console import Console

from scoring.cli.demo_setup import prepare
from scoring.config import load_settings


def test_the_demo_builds_a_world_a_database_and_a_champion_and_reuses_them(tmp_path):
    settings = load_settings({"INSTALLMENT_HOME": str(tmp_path)})
    console = Console(record=True, width=200)

    first = prepare(settings=settings, customers=2000, console=console, as_of=date(2026, 11, 1))
    assert (first.world_dir / "manifest.json").exists()
    assert (tmp_path / "installment.db").exists()
    assert first.champion is not None

    second = prepare(settings=settings, customers=2000, console=console, as_of=date(2026, 11, 1))
    assert second.champion == first.champion
    text = console.export_text()
    assert "synthetic world already in" in text
    assert "(0 new rows)" in text
