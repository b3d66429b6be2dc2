"""Reading and writing a world folder as ``docs/world-format.md`` lays it out.

The format (version, file names, schemas) and the checked reading of the manifest and of
each file are the world folder's own (``data_contracts.world_folder``); this module builds
a :class:`World` from them and writes one.

Writing is atomic: the world is built in a hidden sibling folder and renamed into place, so an
interrupted run leaves either the previous folder or the complete new one, never a mixture.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from data_contracts.world_folder import (
    FORMAT_VERSION,
    MANIFEST,
    WorldFormatError,
    file_sha256,
    read_checked,
    read_manifest,
)
from models.world.errors import WorldFolderError
from models.world.tables import ATTRIBUTE_FILES, GENERATOR_VERSION, World, to_arrow, to_frame

__all__ = ["check_target", "is_world_folder", "read_manifest", "read_world", "write_world"]


def write_world(world: World, out: Path, *, force: bool = False) -> Path:
    """Write ``world`` to folder ``out``; ``force`` replaces only a previous world folder."""
    out = Path(out).absolute()
    check_target(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    retired = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()
        files = {}
        for name, frame in world.tables().items():
            path = staging / name
            path.parent.mkdir(exist_ok=True)
            table = to_arrow(frame, name)
            pq.write_table(table, path, compression="zstd")
            files[name] = {"rows": table.num_rows, "sha256": file_sha256(path)}
        manifest = {
            "format_version": FORMAT_VERSION,
            "generator_version": GENERATOR_VERSION,
            "seed": world.seed,
            "customers": world.customer_count,
            "as_of": world.as_of.isoformat(),
            "created_from": (
                f"synthetic credit world: {world.customer_count} people, seed {world.seed}, "
                f"observed on {world.as_of.isoformat()}"
            ),
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if out.exists():
            os.replace(out, retired)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not out.exists():
            os.replace(retired, out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return out


def read_world(path: Path) -> World:
    """Load a world folder after checking its manifest, file list and every file's sha256."""
    path = Path(path)
    manifest = read_manifest(path)
    frames = {
        attribute: to_frame(read_checked(path, name, manifest))
        for attribute, name in ATTRIBUTE_FILES.items()
    }
    return World(seed=manifest["seed"], as_of=date.fromisoformat(manifest["as_of"]), **frames)


def is_world_folder(path: Path) -> bool:
    """True when ``path`` holds a manifest that parses as a world manifest."""
    try:
        read_manifest(path)
    except WorldFormatError:
        return False
    return True


def check_target(out: Path, *, force: bool) -> None:
    """Refuse an --out that exists and is not empty, unless forcing over a previous world."""
    if not out.exists():
        return
    if not out.is_dir():
        raise WorldFolderError(f"{out} exists and is not a folder; choose another --out")
    if not any(out.iterdir()):
        return
    if not force:
        raise WorldFolderError(
            f"{out} exists and is not empty; choose another --out or pass --force to replace "
            "a previous world"
        )
    if not (out / MANIFEST).is_file():
        raise WorldFolderError(
            f"{out} is not a world folder (no {MANIFEST}); --force replaces only a previous "
            "world, so choose another --out"
        )
