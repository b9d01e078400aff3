"""How package names appear in registry URLs."""

from __future__ import annotations


def escape_name(name: str) -> str:
    """The form registries expect in a packument URL: ``@scope%2fname``."""
    return name.replace("/", "%2f") if name.startswith("@") else name
