"""Runtime settings, read once from the environment with embedded defaults.

Everything the product writes lives under ``INSTALLMENT_HOME`` (default ``./var``)
unless a URL says otherwise, so a fresh checkout runs with no set-up.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: Path
    pseudonym_key_file: Path
    bureau_url: str
    identity_vault_key_file: Path
    # Decisions worked at once per API process (threads); the rest wait their turn. None:
    # chosen by what a decision waits on (``Runtime.decision_threads``).
    decision_threads: int | None = None
    # On a database with no approved champion recorded, take over the registry's champion
    # alias once (audited). Production sets INSTALLMENT_ADOPT_REGISTRY_CHAMPION=false, so
    # only a champion approved by two people in the product is ever served.
    adopt_registry_champion: bool = True

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"


def _default_sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'installment.db').resolve()}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("INSTALLMENT_HOME", "var")).resolve()
    return Settings(
        home=home,
        database_url=env.get("INSTALLMENT_DATABASE_URL") or _default_sqlite_url(home),
        mlflow_tracking_uri=env.get("INSTALLMENT_MLFLOW_TRACKING_URI")
        or f"sqlite:///{(home / 'mlflow.db').resolve()}",
        mlflow_artifact_root=Path(
            env.get("INSTALLMENT_MLFLOW_ARTIFACT_ROOT") or home / "mlartifacts"
        ).resolve(),
        pseudonym_key_file=Path(
            env.get("INSTALLMENT_PSEUDONYM_KEY_FILE") or home / "secrets" / "pseudonym.key"
        ).resolve(),
        bureau_url=env.get("INSTALLMENT_BUREAU_URL", "http://127.0.0.1:8701"),
        identity_vault_key_file=Path(
            env.get("INSTALLMENT_IDENTITY_VAULT_KEY_FILE")
            or home / "secrets" / "identity-vault.key"
        ).resolve(),
        decision_threads=_decision_threads(env.get("INSTALLMENT_DECISION_THREADS", "auto")),
        adopt_registry_champion=_flag(env, "INSTALLMENT_ADOPT_REGISTRY_CHAMPION", default=True),
    )


def _flag(env: os._Environ[str] | dict[str, str], name: str, *, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {text!r}")


def _decision_threads(text: str) -> int | None:
    if text.strip().lower() in ("", "auto"):
        return None
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if not 1 <= threads <= 256:
        raise ValueError(
            "INSTALLMENT_DECISION_THREADS must be a whole number from 1 to 256 or 'auto', "
            f"got {text!r}"
        )
    return threads


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests build their own with ``load_settings``."""
    return load_settings()


def read_or_create_key(path: Path, *, nbytes: int = 32) -> bytes:
    """Read a secret key file, creating it with owner-only permissions when absent."""
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"key file {path} holds fewer than 16 bytes; replace it")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key
