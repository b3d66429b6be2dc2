"""The layout keeps its shape: layering contracts, static types, no ``Any`` at the seams.

The contracts are ``[tool.importlinter]`` in pyproject.toml and the type check is
``[tool.mypy]``; docs/architecture.md explains both. Each check is also run once against
a copy of the code with a violation put in on purpose, so a check that stopped looking
would fail here too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .signatures import bare_any_in_public_signatures

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("scoring", "models", "review_ui", "data_contracts", "benchmarks")
# Where no public function or method may take or return a bare ``Any``.
TYPED_LAYERS = ("scoring/domain", "scoring/service", "scoring/storage", "data_contracts")
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(BIN)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _copy_of_the_code(destination: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, destination / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", destination / "pyproject.toml")
    return destination


def test_the_layering_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower() or " 0 broken" in result.stdout


def test_a_domain_module_importing_the_service_layer_breaks_a_contract(tmp_path: Path) -> None:
    copy = _copy_of_the_code(tmp_path)
    decision = copy / "scoring" / "domain" / "decision.py"
    decision.write_text(decision.read_text() + "\nimport scoring.service.decisions  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "scoring.domain.decision -> scoring.service.decisions" in result.stdout


def test_the_types_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_type_check_fails_on_a_wrong_type(tmp_path: Path) -> None:
    copy = _copy_of_the_code(tmp_path)
    pseudonym = copy / "scoring" / "domain" / "pseudonym.py"
    pseudonym.write_text(pseudonym.read_text() + "\n\nWRONG: int = 'not a number'\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(copy / "pyproject.toml")],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode != 0
    assert "scoring/domain/pseudonym.py" in result.stdout


def test_no_public_signature_in_the_typed_layers_takes_or_returns_any() -> None:
    found = bare_any_in_public_signatures(ROOT, TYPED_LAYERS)
    assert found == []
