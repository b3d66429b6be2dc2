"""The demo's identity desk: a registered identity channel, and a script for subject requests.

Without a channel, the demo's ``/v1/subjects/*`` would answer every request 401 (no proof).
The demo registers ``demo-identity-desk`` for its sales-system client, with an Ed25519 key
kept under ``<home>/demo/`` (owner-only), and writes ``<home>/demo/subject-request.sh``,
which signs an assertion with that key and sends the request.
"""

from __future__ import annotations

import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from scoring.config import Settings, write_private_file

DEMO_CHANNEL = "demo-identity-desk"
SCRIPT_TEMPLATE = Path(__file__).with_name("demo_subject.sh")


def channel_key_file(settings: Settings) -> Path:
    return settings.home / "demo" / "identity-channel.pem"


def register_demo_channel(*, settings: Settings, client: str) -> None:
    """Create the desk's key on the first run and register its public half (once)."""
    from scoring.cli.common import migrated_unit_of_work
    from scoring.service.subject_proof import list_channels, new_channel_key, register_channel

    uow = migrated_unit_of_work(settings.database_url)
    try:
        if any(view.id == DEMO_CHANNEL for view in list_channels(uow=uow)):
            return
        key_file = channel_key_file(settings)
        if key_file.exists():
            key_file.unlink()  # a key whose channel was never registered: start afresh
        private_pem, public_pem = new_channel_key()
        write_private_file(key_file, private_pem)
        register_channel(uow=uow, channel_id=DEMO_CHANNEL, client_id=client,
                         public_key_pem=public_pem, now=datetime.now(UTC))  # fmt: skip
    finally:
        uow.engine.dispose()


def write_subject_script(*, settings: Settings, api: str) -> Path:
    """Write ``<home>/demo/subject-request.sh`` for this demo's addresses and keys."""
    script = settings.home / "demo" / "subject-request.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    text = SCRIPT_TEMPLATE.read_text()
    for name, value in (
        ("@API@", api),
        ("@KEY_FILE@", str(settings.secrets_dir / "demo-api-key")),
        ("@CHANNEL@", DEMO_CHANNEL),
        ("@CHANNEL_KEY@", str(channel_key_file(settings))),
        ("@INSTALLMENT@", str(Path(sys.executable).with_name("installment"))),
    ):
        text = text.replace(name, shlex.quote(value))
    script.write_text(text.replace("@SCRIPT@", str(script)))
    script.chmod(0o755)
    return script
