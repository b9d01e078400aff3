"""An index that follows its registry: dependency closures (``index add --deps``) and
``index sync``, which adds the versions published upstream since the index last looked.

npm itself resolves every closure: a throwaway project depends on each wanted version through
an alias (``"d0": "npm:name@1.2.3"``, so several versions of one package fit side by side), and
``npm install --package-lock-only`` writes the lockfile an install would use, every platform's
optional packages included. No semver is reimplemented here.

Sync policy (bounded): per package, the versions newer than the newest one indexed, stable
ones only unless the upstream's ``latest`` is a prerelease, the newest ``limit`` of them
(default 5), always including the upstream's ``latest``; then their dependency closure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from ipnpm.clients.kubo import KuboClient
from ipnpm.errors import MissingContentError, UsageError
from ipnpm.index import packument_path
from ipnpm.index.mfs import MfsIndex
from ipnpm.index.publish import (
    MirrorContext,
    mirror_pairs,
    publish_root,
    semver_key,
    specs_from_args,
    upstream_packument,
)
from ipnpm.npm.lockfile import read_lockfile

_NPM_WAIT = 600  # seconds for npm to resolve a closure (many packuments, no tarballs)


def closure(
    context: MirrorContext, npm: str, pairs: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Every (name, version) an install of these exact versions would fetch, them included."""
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    dependencies = {f"d{i}": f"npm:{name}@{version}" for i, (name, version) in enumerate(wanted)}
    with tempfile.TemporaryDirectory(prefix="ipnpm-closure-") as tmp:
        project = Path(tmp)
        manifest = {"name": "ipnpm-closure", "version": "0.0.0", "private": True}
        (project / "package.json").write_text(
            json.dumps({**manifest, "dependencies": dependencies})
        )
        result = subprocess.run(
            [npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            env=dict(context.env),
            timeout=_NPM_WAIT,
        )
        if result.returncode != 0:
            raise MissingContentError(
                f"npm could not resolve the dependencies of {len(wanted)} version(s): "
                f"{result.stderr.strip()[-400:]}",
                hint="check that the upstream registry serves every dependency",
            )
        found = {(t.name, t.version) for t in read_lockfile(project / "package-lock.json").tarballs}
    return sorted(found | set(wanted))


def add_with_deps(
    context: MirrorContext, npm: str, kubo: KuboClient, args: Sequence[str], *, key: str, jobs: int
) -> int:
    pairs = specs_from_args(context, npm, args)
    everything = closure(context, npm, pairs)
    click.echo(
        f"ipnpm: {len(pairs)} version(s) named, {len(everything)} with their dependencies",
        err=True,
    )
    return mirror_pairs(context, kubo, everything, key=key, jobs=jobs)


def new_versions(indexed: dict[str, Any] | None, upstream: dict[str, Any], limit: int) -> list[str]:
    """The sync policy (see the module's docstring)."""
    have = set((indexed or {}).get("versions") or {})
    published = list(upstream.get("versions") or {})
    latest = (upstream.get("dist-tags") or {}).get("latest")
    newest = max(have, key=semver_key) if have else None
    prerelease_ok = isinstance(latest, str) and "-" in latest
    fresh = [
        v
        for v in published
        if v not in have
        and (newest is None or semver_key(v) > semver_key(newest))
        and (prerelease_ok or "-" not in v)
    ]
    chosen = sorted(fresh, key=semver_key)[-limit:] if limit > 0 else []
    if isinstance(latest, str) and latest in published and latest not in have | set(chosen):
        chosen.append(latest)
    return chosen


def _unescape(file_name: str) -> str:
    return file_name.replace("%2f", "/") if file_name.startswith("@") else file_name


def index_sync(
    context: MirrorContext, npm: str, kubo: KuboClient, *, key: str, jobs: int, limit: int
) -> int:
    mfs = MfsIndex(kubo, key)
    if not mfs.exists():
        raise UsageError(f"there is no index {key!r} on this Kubo node", hint="index add first")
    names = [_unescape(n) for n in mfs.names("packages")]
    packuments: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str, str]] = []
    failed = 0
    tty = sys.stderr.isatty()
    for done, name in enumerate(names, start=1):
        if tty:
            print(f"\ripnpm: sync: {done}/{len(names)} packages read", end="", file=sys.stderr)
        try:
            packuments[name] = upstream_packument(context, name)
        except MissingContentError as exc:
            click.echo(
                f"\nipnpm: sync: {exc.message}" if tty else f"ipnpm: sync: {exc.message}", err=True
            )
            failed += 1
            continue
        indexed = mfs.read_json(packument_path(name))
        pairs += [(name, v) for v in new_versions(indexed, packuments[name], limit)]
    if tty and names:
        print(file=sys.stderr)
    everything = closure(context, npm, pairs)
    click.echo(
        f"ipnpm: sync: {len(names)} packages read, {len(pairs)} new version(s), "
        f"{len(everything) - len(pairs)} more for their dependencies"
        + (f", {failed} package(s) unreadable upstream" if failed else ""),
        err=True,
    )
    code = (
        mirror_pairs(context, kubo, everything, key=key, jobs=jobs, packuments=packuments)
        if everything
        else 0
    )
    state = mfs.state()
    if everything and state is not None:
        publish_root(kubo, mfs, lifetime=str(state["lifetime"]), ttl=str(state["ttl"]))
    elif everything:
        click.echo(f"ipnpm: index {key} was never published: `index publish --key {key}`", err=True)
    return code or (6 if failed else 0)
