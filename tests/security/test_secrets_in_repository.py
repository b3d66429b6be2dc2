"""Secrets never in the repository: no private keys, API keys, key files or passwords tracked."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PATTERNS = {
    "private key": re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "API key of this service": re.compile(rb"\bik_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\b"),
    "AWS access key": re.compile(rb"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    # Except the placeholders the masking tests in tests/storage use on purpose.
    "password in a database URL": re.compile(
        rb"postgres(?:ql)?(?:\+\w+)?://[^:/\s@]+:(?!(?:\*\*\*|s3cret-pw|pw)@)[^@\s/'\"]+@"
    ),
}
KEY_FILE = re.compile(r"(^|/)(var/|secrets/)|\.(key|pem|p12|pfx)$|(^|/)\.env$|id_(rsa|ed25519)$")


def tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: there are no tracked files to scan")
    listed = subprocess.run(
        [git, "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_no_key_file_and_nothing_under_var_is_tracked():
    offending = [name for name in tracked_files() if KEY_FILE.search(name)]
    assert not offending, f"key files or var/ tracked: {offending}"


def test_var_and_key_folders_are_ignored_by_git():
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "var/" in ignored


def test_no_tracked_file_holds_a_secret():
    found = []
    for name in tracked_files():
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        found += [f"{name}: {kind}" for kind, pattern in PATTERNS.items() if pattern.search(data)]
    assert not found, f"secrets in tracked files: {found}"


def test_the_patterns_find_what_they_are_meant_to_find():
    from scoring.service.api_keys import KEY_PREFIX

    # Samples are assembled from pieces so that this file itself passes the scan above.
    samples = {
        "private key": b"-----BEGIN RSA " + b"PRIVATE KEY-----\nMIIE",
        "API key of this service": f"{KEY_PREFIX}_0123456789ab_{'A' * 43}".encode(),
        "AWS access key": b"AKIA" + b"ABCDEFGHIJKLMNOP",
        "GitHub token": b"ghp_" + b"a" * 36,
        "password in a database URL": b"postgresql+psycopg://app:" + b"hunter2@db:5432/x",
    }
    for kind, sample in samples.items():
        assert PATTERNS[kind].search(sample), kind
    assert not PATTERNS["password in a database URL"].search(
        b"postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    for name in ("var/secrets/pseudonym.key", "deploy/.env", "certs/server.pem"):
        assert KEY_FILE.search(name), name
