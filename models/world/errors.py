"""Typed errors of the synthetic world: each message says what is wrong and what to do."""

from __future__ import annotations


class WorldError(Exception):
    """Base of every error raised by ``models.world``."""


class WorldArgumentError(WorldError, ValueError):
    """An argument to ``generate`` or ``write_world`` is out of range or unparsable."""


class WorldFolderError(WorldError):
    """The output folder cannot be used (it holds something that is not a world)."""


class WorldFormatError(WorldError):
    """A world folder is missing, incomplete, tampered with or of an unknown format."""
