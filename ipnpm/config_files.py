"""ipnpm's config files: what a team shares (indexes, gateways, scopes) lives in the project's
package.json under an ``"ipnpm"`` key, as prettier or eslint settings do; what one person
prefers lives in ``$XDG_CONFIG_HOME/ipnpm/config.json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipnpm.errors import UsageError

KNOWN_KEYS = ("store", "kubo", "gateways", "seed", "jobs", "indexes")


@dataclass(frozen=True)
class ConfigFile:
    kind: str  # "project" or "user"
    path: Path
    values: Mapping[str, Any]


def _load(kind: str, path: Path, section: str | None) -> ConfigFile | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if section is not None:
            return None  # a broken package.json is npm's to report, not ipnpm's
        raise UsageError(f"cannot read {path}: {exc}", hint=f"fix or remove {path}") from exc
    values = data.get(section) if section is not None and isinstance(data, dict) else data
    if values is None:
        return None
    if not isinstance(values, dict):
        where = f'"{section}" in {path}' if section else str(path)
        raise UsageError(f"{where} is not a JSON object", hint="see docs/configuration.md")
    for key in sorted(set(values) - set(KNOWN_KEYS)):
        print(
            f"ipnpm: warning: unknown key {key!r} in {path} (known: {', '.join(KNOWN_KEYS)})",
            file=sys.stderr,
        )
    return ConfigFile(kind, path, {k: v for k, v in values.items() if k in KNOWN_KEYS})


def project_file(cwd: Path) -> ConfigFile | None:
    """The ``"ipnpm"`` key of the nearest package.json (npm's project root)."""
    for directory in (cwd, *cwd.parents):
        if (directory / "package.json").is_file():
            return _load("project", directory / "package.json", "ipnpm")
    return None


def user_file(env: Mapping[str, str]) -> ConfigFile | None:
    config_home = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return _load("user", Path(config_home).expanduser() / "ipnpm" / "config.json", None)
