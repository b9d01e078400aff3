"""Read npm lockfiles (package-lock.json v1/v2/v3, npm-shrinkwrap.json) into registry tarballs.

Only registry tarballs are ipnpm's business: git, ``file:``, links, bundled copies and plain-URL
tarballs never touch a registry and are left to npm.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipnpm.errors import LockfileError

LOCKFILE_NAMES = ("npm-shrinkwrap.json", "package-lock.json")  # npm prefers the shrinkwrap

# Python's names for this platform, in node's `process.platform` / `process.arch` vocabulary.
_NODE_OS = {"linux": "linux", "darwin": "darwin", "win32": "win32", "cygwin": "win32"}
_NODE_CPU = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64", "i686": "ia32"}

# Fields of a lockfile entry that also belong in an abbreviated packument version.
_MANIFEST_FIELDS = (
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "engines",
    "os",
    "cpu",
    "hasInstallScript",
    "deprecated",
    "license",
)


@dataclass(frozen=True)
class LockedTarball:
    """One registry tarball a lockfile pins."""

    name: str  # the real package name (an alias's target, not the alias)
    version: str
    integrity: str | None
    resolved: str | None
    optional: bool = False
    manifest: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    def matches_platform(self, os_name: str | None = None, cpu: str | None = None) -> bool:
        """False for a package npm would skip here (``os``/``cpu`` lists, ``!`` negations)."""
        here_os = os_name or _NODE_OS.get(sys.platform, sys.platform)
        here_cpu = cpu or _NODE_CPU.get(platform.machine().lower(), platform.machine().lower())
        return _allowed(self.manifest.get("os"), here_os) and _allowed(
            self.manifest.get("cpu"), here_cpu
        )


def _allowed(rules: object, here: str) -> bool:
    if not isinstance(rules, list) or not rules:
        return True
    if f"!{here}" in rules:
        return False
    positives = [rule for rule in rules if not str(rule).startswith("!")]
    return not positives or here in positives


@dataclass(frozen=True)
class Lockfile:
    path: Path
    version: int
    tarballs: tuple[LockedTarball, ...]
    has_foreign_urls: bool = False  # git or plain-URL dependencies: npm fetches those itself

    def resolved_hosts(self) -> set[str]:
        """``host[:port]`` of every registry tarball URL, exactly as written."""
        return {urlsplit(t.resolved).netloc for t in self.tarballs if t.resolved}

    @cached_property
    def by_name(self) -> dict[str, list[LockedTarball]]:
        grouped: dict[str, list[LockedTarball]] = {}
        for tarball in self.tarballs:
            grouped.setdefault(tarball.name, []).append(tarball)
        return grouped


def find_lockfile(project: Path) -> Path | None:
    for name in LOCKFILE_NAMES:
        if (project / name).is_file():
            return project / name
    return None


def is_registry_tarball_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 literal: not a URL npm could fetch either
        return False
    return parts.scheme in ("http", "https") and "/-/" in parts.path and parts.path.endswith(".tgz")


def _is_registry_entry(entry: Mapping[str, Any]) -> bool:
    if entry.get("link") or entry.get("inBundle") or entry.get("bundled"):
        return False
    resolved = entry.get("resolved")
    version = entry.get("version")
    if not isinstance(version, str) or not version or ":" in version:
        return False
    # npm omits `resolved` for registry packages (omit-lockfile-registry-resolved); git and
    # file dependencies always keep it.
    return resolved is None or (isinstance(resolved, str) and is_registry_tarball_url(resolved))


def _is_foreign(entry: Mapping[str, Any]) -> bool:
    location = entry.get("resolved") or entry.get("version")
    if not isinstance(location, str) or entry.get("link"):
        return False
    return (
        ":" in location
        and not location.startswith(("file:", "npm:"))
        and (not is_registry_tarball_url(location))
    )


def _walk_v1(dependencies: object) -> Iterator[Mapping[str, Any]]:
    if not isinstance(dependencies, dict):
        return
    for entry in dependencies.values():
        if isinstance(entry, dict):
            yield entry
            yield from _walk_v1(entry.get("dependencies"))


def _name_from_key(key: str) -> str:
    return key.rsplit("node_modules/", 1)[-1]


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _tarball(name: str, version: str, entry: Mapping[str, Any]) -> LockedTarball:
    return LockedTarball(
        name=name,
        version=version,
        integrity=_str(entry.get("integrity")),
        resolved=_str(entry.get("resolved")),
        optional=bool(entry.get("optional") or entry.get("devOptional")),
        manifest={key: entry[key] for key in _MANIFEST_FIELDS if key in entry},
    )


def _from_packages(packages: Mapping[str, Any]) -> Iterator[LockedTarball]:
    for key, entry in packages.items():
        if "node_modules/" not in key or not isinstance(entry, dict):
            continue
        name = _str(entry.get("name")) or _name_from_key(key)
        if _is_registry_entry(entry) and name:
            yield _tarball(name, entry["version"], entry)


def _from_dependencies(dependencies: object) -> Iterator[LockedTarball]:
    """v1: nested ``dependencies``; an alias has ``version: "npm:real@1.2.3"``."""
    if not isinstance(dependencies, dict):
        return
    for name, entry in dependencies.items():
        if not isinstance(entry, dict):
            continue
        version = str(entry.get("version", ""))
        real_name = name
        if version.startswith("npm:"):
            real_name, _, version = version[4:].rpartition("@")
        if _is_registry_entry({**entry, "version": version}):
            # v1 keeps a package's dependency ranges in `requires`; its `dependencies` holds
            # nested lockfile entries instead.
            manifest = {key: v for key, v in entry.items() if key != "dependencies"}
            if "requires" in entry:
                manifest["dependencies"] = entry["requires"]
            yield _tarball(real_name, version, manifest)
        yield from _from_dependencies(entry.get("dependencies"))


def read_lockfile(path: Path) -> Lockfile:
    fix = f"fix or delete {path} (npm can regenerate it with `npm install`)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise LockfileError(f"cannot read {path.name}: {exc}", hint=fix) from exc
    if not isinstance(data, dict):
        raise LockfileError(f"{path.name} is not a JSON object", hint=fix)
    try:
        return _parse(path, data)
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        # A lockfile of the right JSON but the wrong shapes: say so, never crash on it.
        raise LockfileError(f"{path.name} is not a valid npm lockfile ({exc!r})", hint=fix) from exc


def _parse(path: Path, data: Mapping[str, Any]) -> Lockfile:
    version = data.get("lockfileVersion", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 3:
        raise LockfileError(
            f"{path.name} has lockfileVersion {version!r}; ipnpm reads versions 1 to 3",
            hint="regenerate it with this npm: `npm install --package-lock-only`",
        )
    packages = data.get("packages")
    if packages is not None and not isinstance(packages, dict):
        raise LockfileError(
            f'{path.name}: "packages" is not an object',
            hint=f"fix or delete {path} (npm can regenerate it with `npm install`)",
        )
    dependencies = data.get("dependencies")
    if dependencies is not None and not isinstance(dependencies, dict):
        raise LockfileError(
            f'{path.name}: "dependencies" is not an object',
            hint=f"fix or delete {path} (npm can regenerate it with `npm install`)",
        )
    if isinstance(packages, dict):
        found = list(_from_packages(packages))
        entries: list[Mapping[str, Any]] = [e for e in packages.values() if isinstance(e, dict)]
    else:
        found = list(_from_dependencies(data.get("dependencies")))
        entries = list(_walk_v1(data.get("dependencies")))
    unique = {(t.name, t.version, t.integrity): t for t in found}
    foreign = any(_is_foreign(entry) for entry in entries)
    return Lockfile(path, version, tuple(unique.values()), has_foreign_urls=foreign)
