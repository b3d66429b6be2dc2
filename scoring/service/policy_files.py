"""Policy files: the versioned credit policies in ``scoring/policies/``, read once each."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from scoring.domain.policy import Policy, PolicyError

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"


def load_policy(path: Path) -> Policy:
    """The policy in one file; ``PolicyError`` names what is wrong with it."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"cannot read policy file {path}: {error.strerror}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"policy file {path} does not hold a mapping")
    return Policy.from_mapping(data)


@lru_cache(maxsize=16)
def policy_for_version(version: str) -> Policy:
    """The policy of a version, from ``policy-<version>.yaml`` (used by replays)."""
    path = POLICY_DIR / f"policy-{version}.yaml"
    if not path.is_file():
        raise PolicyError(f"no policy file for version {version} in {POLICY_DIR}")
    policy = load_policy(path)
    if policy.version != version:
        raise PolicyError(f"{path.name} holds version {policy.version}, not {version}")
    return policy


def current_policy() -> Policy:
    """The newest policy file by version (versions sort as dotted numbers)."""
    files = sorted(
        POLICY_DIR.glob("policy-*.yaml"),
        key=lambda p: tuple(int(x) for x in p.stem.removeprefix("policy-").split(".")),
    )
    if not files:
        raise PolicyError(f"no policy file in {POLICY_DIR}")
    return load_policy(files[-1])
