"""Typed errors of the synthetic world: each message says what is wrong and what to do."""

from __future__ import annotations

from scoring.domain.errors import EngineError, InvalidInputError


class WorldError(EngineError):
    """Base of every error raised by ``models.world``."""


class WorldArgumentError(WorldError, InvalidInputError, ValueError):
    """An argument to ``generate`` or ``write_world`` is out of range or unparsable."""


class WorldFolderError(WorldError, InvalidInputError):
    """The output folder cannot be used (it holds something that is not a world)."""


class WorldFormatError(WorldError, InvalidInputError):
    """A world folder is missing, incomplete, tampered with or of an unknown format."""
