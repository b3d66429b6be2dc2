"""Writing and reading a world folder: deterministic bytes, checked manifest, atomic replace."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from models.world import (
    World,
    WorldArgumentError,
    WorldFolderError,
    WorldFormatError,
    generate_world,
    read_world,
    write_world,
)

FILES = [
    "applications.parquet",
    "bureau_default_entries.parquet",
    "bureau_reports.parquet",
    "customers.parquet",
    "invoices.parquet",
    "manifest.json",
    "payments.parquet",
    "protected/attributes.parquet",
    "truth/applications_truth.parquet",
]


def _contents(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_folder_holds_exactly_the_documented_files(world_folder: Path) -> None:
    assert sorted(_contents(world_folder)) == FILES
    manifest = json.loads((world_folder / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["customers"] == 2_000
    assert manifest["as_of"] == "2025-06-30"
    assert set(manifest["files"]) == set(FILES) - {"manifest.json"}


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(
    small_world: World, world_folder: Path, tmp_path: Path
) -> None:
    again = write_world(
        generate_world(customers=2_000, seed=small_world.seed, as_of=small_world.as_of),
        tmp_path / "again",
    )
    assert _contents(again) == _contents(world_folder)
    other = write_world(
        generate_world(customers=2_000, seed=small_world.seed + 1, as_of=small_world.as_of),
        tmp_path / "other",
    )
    differing = {
        name for name, data in _contents(other).items() if data != _contents(world_folder)[name]
    }
    assert differing == set(FILES)


def test_reading_gives_back_the_world_that_was_written(
    small_world: World, world_folder: Path
) -> None:
    loaded = read_world(world_folder)
    assert loaded.seed == small_world.seed and loaded.as_of == small_world.as_of
    for name, frame in small_world.tables().items():
        pd.testing.assert_frame_equal(loaded.tables()[name], frame, check_dtype=True)


def test_a_tampered_file_is_refused(world_folder: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(world_folder, tmp_path / "copy")
    data = bytearray((copy / "invoices.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "invoices.parquet").write_bytes(bytes(data))
    with pytest.raises(WorldFormatError, match="invoices.parquet does not match its sha256"):
        read_world(copy)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: (folder / "manifest.json").unlink(), "no manifest.json"),
        (lambda folder: (folder / "manifest.json").write_text("{not json"), "not valid JSON"),
        (lambda folder: (folder / "truth" / "applications_truth.parquet").unlink(), "is missing"),
        (
            lambda folder: (folder / "manifest.json").write_text(
                json.dumps({"format_version": 99})
            ),
            "format_version 99 is not supported",
        ),
    ],
    ids=["no-manifest", "bad-json", "missing-file", "unknown-version"],
)
def test_a_malformed_folder_is_refused_with_a_clear_error(
    world_folder: Path, tmp_path: Path, damage, message: str
) -> None:
    copy = shutil.copytree(world_folder, tmp_path / "copy")
    damage(copy)
    with pytest.raises(WorldFormatError, match=message):
        read_world(copy)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorldFormatError, match="is not a folder"):
        read_world(tmp_path / "nowhere")


def test_writing_refuses_a_non_empty_folder_unless_forced_over_a_previous_world(
    small_world: World, world_folder: Path, tmp_path: Path
) -> None:
    target = shutil.copytree(world_folder, tmp_path / "previous")
    (target / "stale.txt").write_text("from an older run")
    with pytest.raises(WorldFolderError, match="--force"):
        write_world(small_world, target)
    write_world(small_world, target, force=True)
    assert sorted(_contents(target)) == FILES  # replaced as a whole, stale file gone
    assert [p.name for p in tmp_path.iterdir()] == ["previous"]  # no staging leftovers

    unrelated = tmp_path / "documents"
    unrelated.mkdir()
    (unrelated / "thesis.txt").write_text("keep me")
    with pytest.raises(WorldFolderError, match="not a world folder"):
        write_world(small_world, unrelated, force=True)
    assert (unrelated / "thesis.txt").read_text() == "keep me"


def test_an_interrupted_write_leaves_nothing_behind(
    small_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.world.folder as folder

    def fail_midway(table, path, **_):
        raise KeyboardInterrupt

    monkeypatch.setattr(folder.pq, "write_table", fail_midway)
    with pytest.raises(KeyboardInterrupt):
        write_world(small_world, tmp_path / "world")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"customers": 0}, "customers must be between 1 and 1,000,000"),
        ({"customers": 1_000_001}, "customers must be between 1 and 1,000,000"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"as_of": date(1899, 1, 1)}, "as-of must be a date between"),
    ],
)
def test_generate_world_refuses_out_of_range_arguments(arguments: dict, message: str) -> None:
    valid = {"customers": 10, "seed": 1, "as_of": date(2025, 6, 30)}
    with pytest.raises(WorldArgumentError, match=message):
        generate_world(**(valid | arguments))


def test_a_manifest_that_is_not_utf8_text_is_refused_with_the_reason(tmp_path: Path) -> None:
    from data_contracts.world_folder import WorldFormatError, read_manifest

    (tmp_path / "manifest.json").write_bytes(b'{"format_version": "\xff"}')
    with pytest.raises(WorldFormatError, match="not UTF-8 text"):
        read_manifest(tmp_path)
