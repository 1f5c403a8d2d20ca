"""A module of gallery/ uses only the public names of another (issue 17):
what two modules share gets a public home instead of one reaching into the
other's underscore names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "gallery"
PUBLIC = {"_meta"}  # Django's documented model Options API, underscore and all
# Kept where pickles made before the providers split look it up: django-q's
# stored results name the function by its old module.
ALLOWED = {"providers/base.py": {"gallery.providers.errors:_rebuild_error"}}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC


def _reaches(path: Path) -> set[str]:
    """`module:name` for each private name of another gallery module that `path` uses."""
    tree = ast.parse(path.read_text())
    modules: dict[str, str] = {}  # local name -> the gallery module it is bound to
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gallery."):
                    modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gallery"):
            for alias in node.names:
                if _private(alias.name):
                    found.add(f"{node.module}:{alias.name}")
                else:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _private(node.attr)
        ):
            found.add(f"{modules[node.value.id]}:{node.attr}")
    return found


def private_reaches(root: Path = GALLERY) -> dict[str, set[str]]:
    result = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = str(path.relative_to(root))
        if reaches := _reaches(path) - ALLOWED.get(name, set()):
            result[name] = reaches
    return result


def test_no_gallery_module_uses_another_modules_private_names():
    assert private_reaches() == {}
