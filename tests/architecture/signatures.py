"""Finding ``Any`` where a module meets its callers: public functions' parameters and results.

A bare ``Any`` (or ``Any | None``) there hides what a seam takes. ``Any`` inside a container,
as in ``dict[str, Any]`` for a JSON document, says what the container is and is allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

# Called by their callers though their names start with an underscore.
_PUBLIC_DUNDERS = frozenset({"__init__", "__call__"})


def _is_bare_any(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(annotation, ast.Name):
        return annotation.id == "Any"
    if isinstance(annotation, ast.Attribute):
        return annotation.attr == "Any"
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _is_bare_any(annotation.left) or _is_bare_any(annotation.right)
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name):
        return annotation.value.id == "Optional" and _is_bare_any(annotation.slice)
    return False


def _public_functions(
    body: list[ast.stmt], prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield from _public_functions(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            not node.name.startswith("_") or node.name in _PUBLIC_DUNDERS
        ):
            yield f"{prefix}{node.name}", node


def bare_any_in_public_signatures(root: Path, folders: Iterable[str]) -> list[str]:
    """``path:line name(parameter)`` for each bare ``Any`` in a public signature."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for name, function in _public_functions(tree.body):
                arguments = function.args
                parameters = [
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
                ]
                where = f"{path.relative_to(root)}:{function.lineno} {name}"
                found += [f"{where}({p.arg})" for p in parameters if _is_bare_any(p.annotation)]
                if _is_bare_any(function.returns):
                    found.append(f"{where} -> Any")
    return found
