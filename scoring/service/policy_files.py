"""Policy files: the versioned credit policies in ``scoring/policies/``, read once each."""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def _dotted(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def _version_key(path: Path) -> tuple[int, ...]:
    try:
        return _dotted(path.stem.removeprefix("policy-"))
    except ValueError:
        raise PolicyError(
            f"policy file {path.name} is not named policy-<dotted version>.yaml"
        ) from None


def current_policy(today: date | None = None) -> Policy:
    """The policy file in effect on ``today`` (default: now, UTC).

    The newest by ``effective_from`` among the files whose date has come (then by version);
    a file dated in the future is not in effect yet. A running service starts from this one
    and then follows the approved change requests (:mod:`scoring.service.policy_in_force`).
    """
    today = today or datetime.now(UTC).date()
    files = sorted(POLICY_DIR.glob("policy-*.yaml"), key=_version_key)
    if not files:
        raise PolicyError(f"no policy file in {POLICY_DIR}")
    policies = [load_policy(path) for path in files]
    due = [p for p in policies if p.effective_from is None or p.effective_from <= today]
    if not due:
        raise PolicyError(f"no policy file in {POLICY_DIR} is in effect on {today}")
    return max(due, key=lambda p: (p.effective_from or date.min, _dotted(p.version)))
