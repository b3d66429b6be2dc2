"""Typed errors of the synthetic world: each message says what is wrong and what to do.

``WorldError`` and ``WorldFormatError`` belong to the world folder's format and its reader
(``data_contracts.world_folder``), which serving reads without importing ``models``; they
are the same classes here.
"""

from __future__ import annotations

from data_contracts.world_folder import WorldError, WorldFormatError
from scoring.domain.errors import InvalidInputError

__all__ = ["WorldArgumentError", "WorldError", "WorldFolderError", "WorldFormatError"]


class WorldArgumentError(WorldError, InvalidInputError, ValueError):
    """An argument to ``generate`` or ``write_world`` is out of range or unparsable."""


class WorldFolderError(WorldError, InvalidInputError):
    """The output folder cannot be used (it holds something that is not a world)."""
