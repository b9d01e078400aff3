"""The install and resolve scenarios: each run starts from a fresh copy of the project and,
unless said, a cold npm cache; each checks what it produced (the installed tree, the lockfile
it resolved) before it counts. "The upstream" is the office link unless a scenario says
remote; ipnpm's sources are chosen with IPNPM_* variables, never flags.

A scenario is `run(project, world, scratch) -> Measurement`, scratch being an empty directory
that is removed after the run (outside the timed region).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.commands import NPM_FLAGS, BenchError, Measurement, ipnpm, npm
from bench.micro import prefetch
from bench.projects import Prepared, verify_resolved, verify_sources, verify_tree
from bench.resolve_corpus import resolve_argv
from bench.world import World
from tests.support.npm_env import NpmEnv

Run = Callable[[Prepared, World, Path], Measurement]


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    run: Run


def _npm_far(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url)
    measured = npm(env, ["ci", *NPM_FLAGS], tree)
    verify_tree(project.name, tree)
    return measured


def _npm_remote(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.remote.url)
    tree = project.fresh(scratch / "project", world.remote.url)
    measured = npm(env, ["ci", *NPM_FLAGS], tree)
    verify_tree(project.name, tree)
    return measured


def _npm_verdaccio(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.near_url)
    tree = project.fresh(scratch / "project", world.near_url)
    measured = npm(env, ["ci", *NPM_FLAGS], tree)
    verify_tree(project.name, tree)
    return measured


def _npm_offline(project: Prepared, world: World, scratch: Path) -> Measurement:
    tree = project.fresh(scratch / "project", world.near_url)
    measured = npm(project.warm_npm, ["ci", "--offline", *NPM_FLAGS], tree)
    verify_tree(project.name, tree)
    return measured


def _ipnpm_lan(project: Prepared, world: World, scratch: Path) -> Measurement:
    world.empty_client_kubo()
    env = _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url, cidlock=True)
    daemons = world.daemons_cpu()
    kubo = {"IPNPM_KUBO_API": world.client.api_url}
    finished, probe = ipnpm(env, ["ci", *NPM_FLAGS], tree, env=kubo)
    daemons = world.daemons_cpu() - daemons
    verify_tree(project.name, tree)
    verify_sources(env.store_dir, "kubo")
    return Measurement(finished.seconds, finished.cpu_seconds, probe, daemons)


def _ipnpm_store(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url, cidlock=True)
    store = {"IPNPM_STORE": str(project.warm_store), "IPNPM_KUBO_API": "off"}
    finished, probe = ipnpm(env, ["ci", *NPM_FLAGS], tree, env=store)
    verify_tree(project.name, tree)
    verify_sources(project.warm_store, "store")
    return Measurement(finished.seconds, finished.cpu_seconds, probe)


def _ipnpm_far(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url)  # a first install: no CIDs yet
    finished, probe = ipnpm(env, ["ci", *NPM_FLAGS], tree, env={"IPNPM_KUBO_API": "off"})
    verify_tree(project.name, tree)
    verify_sources(env.store_dir, "upstream")
    return Measurement(finished.seconds, finished.cpu_seconds, probe)


def _resolvable(project: Prepared) -> None:
    if project.resolve_npm is None:
        raise BenchError(f"{project.name}: {project.resolve_failure}")


def _npm_resolve(project: Prepared, world: World, scratch: Path, *, warm: bool) -> Measurement:
    _resolvable(project)
    env = project.resolve_npm if warm and project.resolve_npm else _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url, lockfile=False)
    measured = npm(env, resolve_argv(project.name), tree)
    verify_resolved(project.name, tree)
    return measured


def _ipnpm_resolve(project: Prepared, world: World, scratch: Path, *, warm: bool) -> Measurement:
    _resolvable(project)
    warm_env = project.resolve_ipnpm
    env = warm_env if warm and warm_env else _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url, lockfile=False)
    finished, probe = ipnpm(env, resolve_argv(project.name), tree, env={"IPNPM_KUBO_API": "off"})
    verify_resolved(project.name, tree)
    return Measurement(finished.seconds, finished.cpu_seconds, probe)


def _env(scratch: Path, registry: str) -> NpmEnv:
    """A fresh npmrc, npm cache and ipnpm store: nothing warm."""
    return NpmEnv(scratch / "env", registry=registry)


INSTALLS: tuple[Scenario, ...] = (
    Scenario("npm-far", "npm ci, office link, cold npm cache", _npm_far),
    Scenario("npm-remote", "npm ci, remote link, cold npm cache", _npm_remote),
    Scenario("npm-verdaccio", "npm ci, warm Verdaccio", _npm_verdaccio),
    Scenario("npm-offline", "npm ci --offline, warm npm cache", _npm_offline),
    Scenario("ipnpm-lan", "ipnpm ci, LAN Kubo peer", _ipnpm_lan),
    Scenario("ipnpm-store", "ipnpm ci, warm store, cold npm cache", _ipnpm_store),
    Scenario("ipnpm-far", "ipnpm ci, office link, no Kubo, empty store", _ipnpm_far),
)
RESOLVES: tuple[Scenario, ...] = (
    Scenario(
        "npm-resolve-warm",
        "npm install --package-lock-only, warm npm cache",
        functools.partial(_npm_resolve, warm=True),
    ),
    Scenario(
        "ipnpm-resolve-warm",
        "ipnpm install --package-lock-only, warm npm cache and store",
        functools.partial(_ipnpm_resolve, warm=True),
    ),
    Scenario(
        "npm-resolve-cold",
        "npm install --package-lock-only, cold npm cache",
        functools.partial(_npm_resolve, warm=False),
    ),
    Scenario(
        "ipnpm-resolve-cold",
        "ipnpm install --package-lock-only, cold npm cache and store",
        functools.partial(_ipnpm_resolve, warm=False),
    ),
)


def _prefetch(project: Prepared, world: World, scratch: Path) -> Measurement:
    return prefetch(project, world, scratch, None)


def _prefetch_serial(project: Prepared, world: World, scratch: Path) -> Measurement:
    return prefetch(project, world, scratch, 1)


PREFETCHES: tuple[Scenario, ...] = (
    Scenario("prefetch", "ipnpm ipfs fetch from a local Kubo", _prefetch),
    Scenario("prefetch-jobs1", "ipnpm --jobs 1 ipfs fetch (baseline)", _prefetch_serial),
)
ALL = INSTALLS + RESOLVES + PREFETCHES
# (npm, ipnpm): the scenarios a target compares round by round (P8, P1w, P9), run back to back
# in every round (bench.run.round_order).
PAIRS: tuple[tuple[str, str], ...] = (
    ("npm-far", "ipnpm-far"),
    ("npm-offline", "ipnpm-store"),
    ("npm-resolve-warm", "ipnpm-resolve-warm"),
)
