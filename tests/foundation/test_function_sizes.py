"""No runtime function in gallery/ is over 60 lines (issue 17): a longer one
is split where its parts have names. The issue exempts declarative tables,
but none of gallery/'s tables is written as a long function, so nothing is
exempt: a table belongs in a module-level literal, not a function body."""

from __future__ import annotations

import ast
from pathlib import Path

GALLERY = Path(__file__).resolve().parents[2] / "gallery"
LIMIT = 60


def long_functions(root: Path = GALLERY) -> set[str]:
    found = set()
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > LIMIT:
                    found.add(f"{path.relative_to(root)}:{node.name}")
    return found


def test_no_function_in_gallery_is_over_sixty_lines():
    assert long_functions() == set()
