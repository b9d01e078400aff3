"""The tree is the architecture: lower layers import nothing from the layers above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ipnpm"

# layer -> the ipnpm layers it must never import (docs/architecture.md draws the same order).
_ABOVE = {
    "index": ("cli", "commands", "run", "proxy", "settings"),
    "sources": ("cli", "commands", "run", "proxy", "settings", "index"),
    "clients": ("cli", "commands", "run", "proxy", "settings", "index", "sources"),
    "store": ("cli", "commands", "run", "proxy", "settings", "index", "sources", "clients"),
    "npm": ("cli", "commands", "run", "proxy", "settings", "index", "sources", "store"),
    "ipfs": ("cli", "commands", "run", "proxy", "settings", "index", "sources", "clients", "npm"),
}


def _imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        layers |= {name.split(".")[1] for name in names if name.startswith("ipnpm.")}
    return layers


@pytest.mark.parametrize("layer", sorted(_ABOVE))
def test_layer_imports_nothing_from_above(layer: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imported_layers(path) & set(_ABOVE[layer]))
        for path in sorted((PACKAGE / layer).rglob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_top_level_names_its_layers() -> None:
    entries = {p.name for p in PACKAGE.iterdir() if not p.name.startswith((".", "__"))}
    assert entries == {
        "cli", "commands", "run", "proxy", "index", "sources", "clients", "store", "npm",
        "ipfs", "errors.py", "settings.py", "py.typed",
    }  # fmt: skip
