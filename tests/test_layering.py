"""Which package may import which: the shared layers stay below both sides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offending(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in _imports(path)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden)
    )


@pytest.mark.parametrize(
    ("files", "forbidden"),
    [
        (
            sorted((ROOT / "scoring" / "features").rglob("*.py")),
            ("models", "review_ui", "scoring.api", "scoring.service", "scoring.storage"),
        ),
        (
            [ROOT / "data_contracts" / "world_folder.py"],
            ("models", "review_ui", "scoring.api", "scoring.service", "scoring.storage"),
        ),
        (sorted((ROOT / "models").rglob("*.py")), ("scoring.api", "scoring.service")),
    ],
    ids=["features", "world-folder", "models"],
)
def test_a_shared_layer_does_not_import_the_layers_above_it(files, forbidden):
    assert files
    assert _offending(files, forbidden) == []
