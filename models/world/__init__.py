"""The synthetic credit world: customers, payment history, bureau reports, applications, truth.

Exports resolve lazily, so importing ``models.world.commands`` for the CLI stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "World": "models.world.tables",
    "WorldArgumentError": "models.world.errors",
    "WorldError": "models.world.errors",
    "WorldFolderError": "models.world.errors",
    "WorldFormatError": "models.world.errors",
    "generate_world": "models.world.generator",
    "read_manifest": "models.world.folder",
    "read_world": "models.world.folder",
    "write_world": "models.world.folder",
}

__all__ = [
    "World",
    "WorldArgumentError",
    "WorldError",
    "WorldFolderError",
    "WorldFormatError",
    "generate_world",
    "read_manifest",
    "read_world",
    "write_world",
]

if TYPE_CHECKING:
    from models.world.errors import (
        WorldArgumentError,
        WorldError,
        WorldFolderError,
        WorldFormatError,
    )
    from models.world.folder import read_manifest, read_world, write_world
    from models.world.generator import generate_world
    from models.world.tables import World


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models.world' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
