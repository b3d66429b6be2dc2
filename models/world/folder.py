"""Reading and writing a world folder as ``docs/world-format.md`` lays it out.

Writing is atomic: the world is built in a hidden sibling folder and renamed into place, so an
interrupted run leaves either the previous folder or the complete new one, never a mixture.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from models.world.errors import WorldFolderError, WorldFormatError
from models.world.tables import (
    ATTRIBUTE_FILES,
    FORMAT_VERSION,
    GENERATOR_VERSION,
    SCHEMAS,
    World,
    to_arrow,
    to_frame,
)

MANIFEST = "manifest.json"
_REGENERATE = "regenerate it with `installment generate`"


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
            files[name] = {"rows": table.num_rows, "sha256": _sha256(path)}
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
    frames = {}
    for attribute, name in ATTRIBUTE_FILES.items():
        file = path / name
        entry = manifest["files"].get(name)
        if not isinstance(entry, dict) or "sha256" not in entry:
            raise WorldFormatError(f"{path}: manifest does not list {name}; {_REGENERATE}")
        if not file.is_file():
            raise WorldFormatError(f"{path}: {name} is missing; {_REGENERATE}")
        if _sha256(file) != entry["sha256"]:
            raise WorldFormatError(
                f"{path}: {name} does not match its sha256 in the manifest (changed or "
                f"damaged); {_REGENERATE}"
            )
        table = _read_table(file, name, path)
        if table.num_rows != entry.get("rows"):
            raise WorldFormatError(
                f"{path}: {name} has {table.num_rows} rows, manifest says {entry.get('rows')}"
            )
        frames[attribute] = to_frame(table)
    return World(seed=manifest["seed"], as_of=date.fromisoformat(manifest["as_of"]), **frames)


def read_manifest(path: Path) -> dict:
    """The parsed ``manifest.json`` of a world folder, checked for shape and format version."""
    path = Path(path)
    if not path.is_dir():
        raise WorldFormatError(f"{path} is not a folder; create one with `installment generate`")
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise WorldFormatError(f"{path} has no {MANIFEST}, so it is not a world folder")
    try:
        manifest = json.loads(manifest_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise WorldFormatError(f"{path}: {MANIFEST} is not valid JSON ({error.msg})") from None
    if not isinstance(manifest, dict):
        raise WorldFormatError(f"{path}: {MANIFEST} must hold a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise WorldFormatError(
            f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION}); "
            f"{_REGENERATE}"
        )
    missing = [key for key in ("seed", "customers", "as_of", "files") if key not in manifest]
    if missing:
        raise WorldFormatError(f"{path}: {MANIFEST} lacks {', '.join(missing)}; {_REGENERATE}")
    if not isinstance(manifest["files"], dict):
        raise WorldFormatError(f"{path}: {MANIFEST} 'files' must be an object")
    try:
        date.fromisoformat(str(manifest["as_of"]))
    except ValueError:
        raise WorldFormatError(f"{path}: {MANIFEST} as_of is not a YYYY-MM-DD date") from None
    return manifest


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


def _read_table(file: Path, name: str, folder: Path) -> pa.Table:
    try:
        table = pq.read_table(file)
    except (pa.ArrowInvalid, OSError) as error:
        raise WorldFormatError(f"{folder}: {name} is not readable Parquet ({error})") from None
    expected = SCHEMAS[name]
    if table.schema.names != expected.names:
        raise WorldFormatError(
            f"{folder}: {name} has columns {table.schema.names}, the format needs {expected.names}"
        )
    try:
        return table.cast(expected)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise WorldFormatError(f"{folder}: {name} has wrong column types ({error})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
