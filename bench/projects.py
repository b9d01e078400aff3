"""One corpus project made ready for the scenarios: the LAN peer seeded, ipnpm-lock.json
recorded, a warm ipnpm store and a warm npm cache; fresh copies and tree checks per run."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.commands import NPM_FLAGS, BenchError, ipnpm, npm
from bench.resolve_corpus import expected_resolution, resolve_argv, resolved_tree
from bench.world import World
from tests.support.corpus import check_tree, corpus_project, expected_tree, locked_tarballs
from tests.support.npm_env import NpmEnv
from tests.support.runlog import last_run, obtained

CIDLOCK = "ipnpm-lock.json"


@dataclass(frozen=True)
class Prepared:
    name: str
    root: Path
    cidlock: str  # the text of ipnpm-lock.json, as `ipnpm install` wrote it
    seed_env: NpmEnv  # registry: the corpus directly; its store holds every tarball
    seed_project: Path  # the project `ipnpm install` seeded the peer from (no node_modules)
    warm_npm: NpmEnv  # an npm cache holding every tarball (registry: the corpus directly)
    tarballs: int  # locked registry tarballs npm installs on this machine
    tarball_bytes: int  # their total size
    # Warmed by one resolve each (office link); None when the project cannot be resolved from
    # its package.json (the resolve extras could not be filled, or a warming resolve failed).
    resolve_npm: NpmEnv | None = None
    resolve_ipnpm: NpmEnv | None = None
    resolve_failure: str = ""

    @property
    def warm_store(self) -> Path:
        """An ipnpm store holding every tarball the project installs on this machine."""
        return self.seed_env.store_dir

    def fresh(self, dest: Path, base: str, *, cidlock: bool = False, lockfile: bool = True) -> Path:
        """A new copy of the project, its lockfile pointing at base, maybe with its CIDs; with
        ``lockfile=False`` package.json alone (what a resolve starts from)."""
        project = corpus_project(self.name, dest, base.rstrip("/"))
        if cidlock:
            (project / CIDLOCK).write_text(self.cidlock)
        if not lockfile:
            (project / "package-lock.json").unlink()
        return project


def prepare(
    world: World, name: str, root: Path, *, installs: bool = True, resolves: str | None = ""
) -> Prepared:
    """Seed the peer through `ipnpm --kubo <peer> install` and warm npm's cache; verified.

    installs=False skips that (only resolve scenarios will run); resolves is why the project
    cannot be resolved ("": it can; None: no resolve scenario will run, nothing warmed).
    """
    seed_env = NpmEnv(root / "seed-env", registry=world.near_url)
    if not installs:
        light = Prepared(name, root, "", seed_env, root, seed_env, locked_count(name), 0)
        return _resolves(light, world, resolves)
    seed = corpus_project(name, root / "seed-project", world.near_url.rstrip("/"))
    ipnpm(seed_env, ["install", *NPM_FLAGS], seed, env={"IPNPM_KUBO_API": world.peer.api_url})
    verify_tree(name, seed)
    cidlock = (seed / CIDLOCK).read_text()
    warm_npm = NpmEnv(root / "warm-npm", registry=world.near_url)
    warm = corpus_project(name, root / "warm-project", world.near_url.rstrip("/"))
    npm(warm_npm, ["ci", *NPM_FLAGS], warm)
    verify_tree(name, warm)
    shutil.rmtree(warm)
    shutil.rmtree(seed / "node_modules")
    installed = len(json.loads(cidlock)["tarballs"])
    size = sum(p.stat().st_size for p in (seed_env.store_dir / "objects").glob("*/*"))
    prepared = Prepared(name, root, cidlock, seed_env, seed, warm_npm, installed, size)
    return _resolves(prepared, world, resolves)


def _resolves(prepared: Prepared, world: World, failure: str | None) -> Prepared:
    if failure is None:
        return prepared
    if failure:
        return dataclasses.replace(prepared, resolve_failure=failure)
    return _warm_resolves(prepared, world)


def _warm_resolves(prepared: Prepared, world: World) -> Prepared:
    """One resolve from package.json each for npm and ipnpm over the office link, so the warm
    resolve scenarios find npm's cache and ipnpm's kept packuments warm."""
    npm_env = NpmEnv(prepared.root / "resolve-npm", registry=world.far_url)
    ipnpm_env = NpmEnv(prepared.root / "resolve-ipnpm", registry=world.far_url)
    try:
        tree = prepared.fresh(prepared.root / "resolve-npm" / "p", world.far_url, lockfile=False)
        npm(npm_env, resolve_argv(prepared.name), tree)
        verify_resolved(prepared.name, tree)
        tree = prepared.fresh(prepared.root / "resolve-ipnpm" / "p", world.far_url, lockfile=False)
        ipnpm(ipnpm_env, resolve_argv(prepared.name), tree, env={"IPNPM_KUBO_API": "off"})
        verify_resolved(prepared.name, tree)
    except BenchError as exc:
        why = str(exc).splitlines()
        found = [line for line in why if "404" in line and "requested resource" in line]
        reason = (found or why or ["?"])[0].strip()
        return dataclasses.replace(prepared, resolve_failure=f"cannot resolve: {reason}")
    return dataclasses.replace(prepared, resolve_npm=npm_env, resolve_ipnpm=ipnpm_env)


def verify_resolved(name: str, project: Path) -> None:
    """The resolve wrote exactly the tree the resolve extras were filled with (the same
    package.json and `--before` through the real registry: every key, version and integrity),
    and installed nothing."""
    try:
        tree = resolved_tree(project)
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"{name}: resolve wrote no usable lockfile: {exc}") from exc
    expected = expected_resolution(name)
    if tree != expected:
        missing = sorted(set(expected) - set(tree))
        extra = sorted(set(tree) - set(expected))
        changed = sorted(k for k in set(tree) & set(expected) if tree[k] != expected[k])
        raise BenchError(
            f"{name}: resolved {len(tree)} packages, not the {len(expected)} expected: "
            f"missing {missing[:5]}, extra {extra[:5]}, "
            f"changed {[(k, expected[k], tree[k]) for k in changed[:3]]}"
        )
    if (project / "node_modules").exists():
        raise BenchError(f"{name}: --package-lock-only installed node_modules")


def verify_tree(name: str, project: Path) -> None:
    """Every locked package installed at its version, optional ones as on this machine."""
    tree = check_tree(name, project)
    if tree.missing or tree.version_mismatch:
        raise BenchError(
            f"{name}: broken install: missing {tree.missing[:5]}, "
            f"mismatched {tree.version_mismatch[:5]}"
        )
    if (tree.installed, tree.optional_skipped) != expected_tree(name):
        raise BenchError(
            f"{name}: installed {tree.installed}, skipped {tree.optional_skipped}; "
            f"expected {expected_tree(name)}"
        )


def verify_sources(store: Path, expected: str) -> None:
    """Every tarball of the last ipnpm run came from `expected` (kubo, store, upstream)."""
    sources = obtained(store)
    other = {spec: source for spec, source in sources.items() if source != expected}
    if not sources or other:
        shown = dict(list(other.items())[:5])
        why = [
            f"{e['spec']}: {e['source']}: {e['error']}"
            for e in last_run(store)
            if e["event"] == "source-failed" and e["spec"] in shown
        ]
        raise BenchError(
            f"expected every tarball from {expected}: {len(sources)} got, {shown}; {why[:5]}"
        )


def locked_count(name: str) -> int:
    return len(locked_tarballs(name))
