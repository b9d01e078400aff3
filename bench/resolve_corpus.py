"""The resolve extras: what the corpus lacks for resolving each project from package.json alone.

The corpus (tests/support/corpus.py) holds what the lockfiles name. Resolving a package.json
picks the newest versions its ranges allow, whose dependencies the lockfile never named: served
from the corpus alone, such a resolve ends in a 404. So the benchmark resolves *as on the day
the fixture was committed* (`npm install --package-lock-only --before=<that day, 23:59:59Z>`,
npm and ipnpm alike; the days are fixed in BEFORE below), and this module fills, once, a second
Verdaccio storage per project (corpus-resolve-<version>/<project>/, in
${IPNPM_TOOLS_DIR:-~/.cache/ipnpm-tools}) with everything such a resolve asks for:

    storages = [ensure_resolve_storage(name) for name in names]  # corpus-resolve-<v>/<name>/
    running_corpus_registry(workdir, overlays=storages)  # the corpus, these files on top

Filling (from cold: 4 s for tiny, about 4 minutes for all four, most of it xl's): a Verdaccio on
loopback, empty storage, its uplink the registry the machine's npm is configured with; the real
`npm install --package-lock-only --before=...` of the project's package.json alone through it.
Verdaccio keeps every packument npm asked for, and every tarball npm fetched while resolving:
npm reads the tarball of a package with bundled dependencies (semantic-release's `npm`) to
learn its bundled tree.
The lockfile the resolve wrote is recorded (key -> version, integrity) in manifest.json: the
benchmark checks that every resolve, npm's and ipnpm's, writes exactly that tree.

The storage is finalised like the corpus (no `_distfiles`, no `_uplinks`, no database,
read-only). Overlaid on the corpus its packuments take the place of the corpus's own: they are
the ones the recorded resolve saw (where two projects' extras hold the same packument, the one
overlaid last serves both: fetched from the same registry, it lists the same versions before
either date, barring an unpublish or deprecation in between, which the tree check would catch).
The corpus and the tests that use it are left as they are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.corpus import (
    CORPUS_PROJECTS,
    POPULATE_NPM_TIMEOUT,
    CorpusError,
    _exclusive,
    _finalize_storage,
    _fixtures_digest,
    _packuments,
    _remove_leftovers,
    _say,
    _tree_size,
    _uplink_settings,
    corpus_project,
    machine_registry,
)
from tests.support.npm_env import NpmEnv, describe
from tests.support.verdaccio import Verdaccio, _die_with_parent, running_verdaccio, tools_dir

# Bump when the way the extras are filled changes (a change of the fixtures is detected).
RESOLVE_CORPUS_VERSION = "v2"
_MANIFEST = "manifest.json"
_FLAGS = ("--ignore-scripts", "--no-audit", "--no-fund")


def resolve_dir(name: str) -> Path:
    return tools_dir() / f"corpus-resolve-{RESOLVE_CORPUS_VERSION}" / name


# `--before` per project: the end of the day the fixture was committed (SOURCE.txt), or of the
# day its newest locked version was published where that is later (xl: its lockfile holds
# @nx/*@23.1.0, published 2026-09-08, after the commit date SOURCE.txt gives). Fixed here so
# that a resolve never depends on when the corpus or the extras were filled.
BEFORE = {
    "tiny-actions-github": "2026-06-08",
    "medium-vscode-esbuild": "2026-02-12",
    "large-semantic-release": "2026-08-05",
    "xl-lerna-workspaces": "2026-09-08",
}


def before_date(name: str) -> str:
    """What `--before` is set to when the project is resolved."""
    if name not in BEFORE:
        raise CorpusError(f"no --before date for {name!r} in {Path(__file__).name}")
    return f"{BEFORE[name]}T23:59:59.000Z"


def resolve_argv(name: str) -> tuple[str, ...]:
    """`install --package-lock-only --before=<date>`: the resolve the benchmark measures."""
    return ("install", "--package-lock-only", f"--before={before_date(name)}", *_FLAGS)


def resolved_tree(project: Path) -> dict[str, list[str | None]]:
    """A resolve's lockfile as key -> [version, integrity] (registry entries and links)."""
    packages: dict[str, dict[str, Any]] = json.loads((project / "package-lock.json").read_text())[
        "packages"
    ]
    return {
        key: [entry.get("version"), entry.get("integrity")]
        for key, entry in sorted(packages.items())
        if key
    }


def ensure_resolve_storage(name: str) -> Path:
    """The cached storage of one project's resolve extras, filled first if it is not there.

    One storage per project, so that a run of some projects (`--quick`) fills only theirs.
    Atomic and serialised like the corpus: a `.partial` sibling renamed into place, a lock.
    """
    final = resolve_dir(name)
    if not (final / _MANIFEST).exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(final.with_name(f".{final.name}.lock")):
            if not (final / _MANIFEST).exists():
                _fill(name, final)
    if resolve_manifest(name).get("fixtures_digest") != _fixtures_digest():
        raise CorpusError(
            f"{final} was filled from other lockfile fixtures: bump RESOLVE_CORPUS_VERSION in "
            f"{Path(__file__).name} (or delete {final}) to fill it again"
        )
    return final / "storage"


@cache
def resolve_manifest(name: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((resolve_dir(name) / _MANIFEST).read_text())
    return manifest


def expected_resolution(name: str) -> dict[str, list[str | None]]:
    """The tree the fill's resolve of this project wrote (see resolved_tree)."""
    tree: dict[str, list[str | None]] = resolve_manifest(name)["tree"]
    return tree


def _fill(name: str, final: Path) -> None:
    staging = final.with_name(f".{final.name}.partial")
    populate = staging / "populate"
    work = staging / "work"
    shutil.rmtree(work, ignore_errors=True)
    _remove_leftovers(populate / "storage")
    _say(f"filling {final}: resolving {name}'s package.json through the machine's npm registry")
    began = time.monotonic()
    with running_verdaccio(
        populate, uplink=machine_registry(), uplink_settings=_uplink_settings()
    ) as registry:
        resolved = _resolve(registry, name, work)
    storage = staging / "storage"
    shutil.rmtree(storage, ignore_errors=True)
    (populate / "storage").rename(storage)
    _finalize_storage(storage)
    files, size = _tree_size(storage)
    manifest = {
        "resolve_corpus_version": RESOLVE_CORPUS_VERSION,
        "project": name,
        "fixtures_digest": _fixtures_digest(),
        "fill_seconds": time.monotonic() - began,
        "storage_files": files,
        "storage_bytes": size,
        "tarballs": sum(1 for _ in storage.rglob("*.tgz")),
        "packuments": sum(1 for _ in _packuments(storage)),
        **resolved,
    }
    (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(populate)  # its config and logs name the upstream registry
    shutil.rmtree(work, ignore_errors=True)
    staging.rename(final)
    _say(
        f"{name}: filled in {manifest['fill_seconds']:.0f}s: {manifest['packuments']} "
        f"packuments, {manifest['tarballs']} tarballs, {size / 2**20:.0f} MiB"
    )


def _resolve(registry: Verdaccio, name: str, workdir: Path) -> dict[str, Any]:
    project = corpus_project(name, workdir / "project", registry.url)
    (project / "package-lock.json").unlink()
    npm = NpmEnv(workdir / "npm", registry=registry.url)  # isolated npmrc, fresh cache
    mark = registry.mark()
    _say(f"{name}: npm install --package-lock-only --before={before_date(name)} ...")
    began = time.monotonic()
    result = subprocess.run(
        ["npm", *resolve_argv(name)],
        cwd=project,
        env=npm.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=POPULATE_NPM_TIMEOUT,
        check=False,
        preexec_fn=_die_with_parent,  # no threads run here, so preexec_fn is safe
    )
    seconds = time.monotonic() - began
    if result.returncode != 0:
        raise CorpusError(f"resolving {name} failed:\n{describe(result)[-8000:]}")
    if (project / "node_modules").exists():
        raise CorpusError(f"{name}: --package-lock-only installed node_modules")
    seen = registry.requests(since=mark)
    failed = [r for r in seen if r.status not in (200, 304)]  # 304: npm revalidates
    if failed:
        raise CorpusError(f"{name}: Verdaccio could not serve {failed[:20]} ({len(failed)})")
    tarball_gets = sorted(r.path for r in seen if r.path.split("?")[0].endswith(".tgz"))
    tree = resolved_tree(project)
    shutil.rmtree(workdir)
    _say(f"{name}: {seconds:.1f}s, {len(tree)} packages, {len(seen)} GETs")
    return {
        "before": before_date(name),
        "npm_seconds": seconds,
        "gets": len(seen),
        "tarball_gets": tarball_gets,
        "tree": tree,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.resolve_corpus [project ...]`: fill the extras (default: every
    project's) if needed, and print a summary."""
    names = argv if argv is not None else sys.argv[1:]
    for name in names or CORPUS_PROJECTS:
        print(ensure_resolve_storage(name))
        manifest = dict(resolve_manifest(name))
        manifest["packages"] = len(manifest.pop("tree"))
        print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
