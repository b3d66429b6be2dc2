"""Runtime settings, read once from the environment with embedded defaults.

Everything the product writes lives under ``INSTALLMENT_HOME`` (default ``./var``)
unless a URL says otherwise, so a fresh checkout runs with no set-up.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from scoring.domain.contact import DEMO_CHANNELS, ContactChannels
from scoring.domain.errors import InvalidInputError


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: Path
    pseudonym_key_file: Path
    bureau_url: str
    identity_vault_key_file: Path
    # Seals the webhook signing secrets in the database (``scoring.storage.sealed``).
    webhook_secret_key_file: Path
    # Decisions worked at once per API process (threads); the rest wait their turn. None:
    # chosen by what a decision waits on (``Runtime.decision_threads``).
    decision_threads: int | None = None
    # One decision's time budget (bureau, database and model draw from it), and the
    # PostgreSQL server's limits on one statement and on one lock wait, in seconds.
    decision_budget_s: float = 5.0
    db_statement_timeout_s: float = 30.0
    db_lock_timeout_s: float = 3.0
    # Data-subject requests one client may send per hour, and that may name one person per
    # day (GDPR Art. 12(5) manifestly excessive requests; guessing codes of strangers).
    subject_requests_per_client_hour: int = 120
    subject_requests_per_person_day: int = 10
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks);
    # none by default: the client address is the connection's peer.
    trusted_proxies: tuple[str, ...] = ()
    # Host names the server answers for (empty: any); see scoring.api.exposure.
    allowed_hosts: tuple[str, ...] = ()
    # Bearer token for /metrics and the API documentation (None: open).
    operations_token: str | None = None
    # Where the sales system reaches this API (``https://engine.example``); follow URLs in
    # answers start with it. None: the address the request came to.
    public_url: str | None = None
    # On a database with no approved champion recorded, take over the registry's champion
    # alias once (audited). Production sets INSTALLMENT_ADOPT_REGISTRY_CHAMPION=false, so
    # only a champion approved by two people in the product is ever served.
    adopt_registry_champion: bool = True

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"


def _default_sqlite_url(home: Path) -> str:
    return f"sqlite:///{(home / 'installment.db').resolve()}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
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
        webhook_secret_key_file=Path(
            env.get("INSTALLMENT_WEBHOOK_SECRET_KEY_FILE")
            or home / "secrets" / "webhook-secrets.key"
        ).resolve(),
        decision_threads=_decision_threads(env.get("INSTALLMENT_DECISION_THREADS", "auto")),
        decision_budget_s=_seconds(env, "INSTALLMENT_DECISION_BUDGET_S", 5.0),
        db_statement_timeout_s=_seconds(env, "INSTALLMENT_DB_STATEMENT_TIMEOUT_S", 30.0),
        db_lock_timeout_s=_seconds(env, "INSTALLMENT_DB_LOCK_TIMEOUT_S", 3.0),
        subject_requests_per_client_hour=_whole_number(
            env, "INSTALLMENT_SUBJECT_REQUESTS_PER_CLIENT_HOUR", 120
        ),
        subject_requests_per_person_day=_whole_number(
            env, "INSTALLMENT_SUBJECT_REQUESTS_PER_PERSON_DAY", 10
        ),
        trusted_proxies=_networks(env.get("INSTALLMENT_TRUSTED_PROXIES", "")),
        allowed_hosts=tuple(
            h.strip().lower()
            for h in env.get("INSTALLMENT_ALLOWED_HOSTS", "").split(",")
            if h.strip()
        ),
        operations_token=_operations_token(env.get("INSTALLMENT_OPERATIONS_TOKEN", "")),
        public_url=(env.get("INSTALLMENT_PUBLIC_URL") or "").rstrip("/") or None,
        adopt_registry_champion=_flag(env, "INSTALLMENT_ADOPT_REGISTRY_CHAMPION", default=True),
    )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:
        raise ValueError(
            f"{name} must be a number of seconds above 0 and at most 3600, got {text!r}"
        )
    return seconds


def _operations_token(text: str) -> str | None:
    token = text.strip()
    if not token:
        return None
    if len(token) < 24:
        raise ValueError("INSTALLMENT_OPERATIONS_TOKEN must hold at least 24 characters")
    return token


def _networks(text: str) -> tuple[str, ...]:
    import ipaddress

    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ValueError(
                "INSTALLMENT_TRUSTED_PROXIES must list IP addresses or networks separated by "
                f"commas, e.g. 10.0.0.5,10.1.0.0/16; {part!r} is neither"
            ) from None
    return tuple(networks)


def _whole_number(env: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ValueError(f"{name} must be a whole number from 1 to 1000000, got {text!r}")
    return int(text)


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


def contact_channels(environ: Mapping[str, str] | None = None) -> ContactChannels:
    """The customer-service channels letters and notices name (``INSTALLMENT_CONTACT_*``).

    Each unset variable keeps the demo's value; a bad one is refused naming the variable.
    """
    env = os.environ if environ is None else environ

    def value(name: str, default: str) -> str:
        return (env.get(f"INSTALLMENT_CONTACT_{name}") or "").strip() or default

    return ContactChannels(
        web=value("WEB", DEMO_CHANNELS.web),
        email=value("EMAIL", DEMO_CHANNELS.email),
        postal_address=value("POSTAL_ADDRESS", DEMO_CHANNELS.postal_address),
        phone=value("PHONE", DEMO_CHANNELS.phone),
    )


@lru_cache(maxsize=1)
def process_contact_channels() -> ContactChannels:
    """The process's channels, read once (every letter names them)."""
    return contact_channels()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests build their own with ``load_settings``."""
    return load_settings()


class KeyFileError(InvalidInputError, ValueError):
    """A secret key file cannot be used: unreadable, too short, or open to other users."""

    code = "key_file_error"


def check_private_file(path: Path) -> None:
    """Refuse a key file other users may read or write, or one in a folder they may write,
    naming the exact ``chmod`` that fixes it."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} is open to other users (mode {mode:04o}); "
            f"restrict it with `chmod 600 {path}`"
        )
    folder_mode = path.parent.stat().st_mode & 0o777
    if folder_mode & 0o022:
        raise KeyFileError(
            f"the folder of key file {path} may be written by other users "
            f"(mode {folder_mode:04o}); restrict it with `chmod 700 {path.parent}`"
        )


def write_private_file(path: Path, text: str) -> None:
    """Create ``path`` for its owner alone (0600, folder 0700 when new) holding ``text``."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def read_or_create_key(path: Path, *, nbytes: int = 32) -> bytes:
    """Read a secret key file, creating it with owner-only permissions when absent.

    A key file that other users may read or write is refused (the key is then no secret),
    and so is one in a folder others may write (they could replace it).
    """
    if path.exists():
        check_private_file(path)
        try:
            key = bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise KeyFileError(f"key file {path} does not hold a hexadecimal key") from None
        if len(key) < 16:
            raise KeyFileError(f"key file {path} holds fewer than 16 bytes; replace it")
        return key
    key = secrets.token_bytes(nbytes)
    write_private_file(path, key.hex())
    return key
