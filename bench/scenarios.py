"""The install scenarios (1-6 of the benchmark issue): each run starts from a fresh copy of the
project and, unless said, a cold npm cache; each checks the installed tree before it counts.

A scenario is `run(project, world, scratch) -> Measurement`, scratch being an empty directory
that is removed after the run (outside the timed region).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.commands import NPM_FLAGS, Measurement, ipnpm, npm
from bench.micro import prefetch
from bench.projects import Prepared, verify_sources, verify_tree
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
    finished, probe = ipnpm(env, ["--ipnpm-kubo", world.client.api_url, "ci", *NPM_FLAGS], tree)
    daemons = world.daemons_cpu() - daemons
    verify_tree(project.name, tree)
    verify_sources(env.store_dir, "kubo")
    return Measurement(finished.seconds, finished.cpu_seconds, probe, daemons)


def _ipnpm_store(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url, cidlock=True)
    store = {"IPNPM_STORE": str(project.warm_store)}
    finished, probe = ipnpm(env, ["--ipnpm-kubo", "off", "ci", *NPM_FLAGS], tree, env=store)
    verify_tree(project.name, tree)
    verify_sources(project.warm_store, "store")
    return Measurement(finished.seconds, finished.cpu_seconds, probe)


def _ipnpm_far(project: Prepared, world: World, scratch: Path) -> Measurement:
    env = _env(scratch, world.far_url)
    tree = project.fresh(scratch / "project", world.far_url)  # a first install: no CIDs yet
    finished, probe = ipnpm(env, ["--ipnpm-kubo", "off", "ci", *NPM_FLAGS], tree)
    verify_tree(project.name, tree)
    verify_sources(env.store_dir, "upstream")
    return Measurement(finished.seconds, finished.cpu_seconds, probe)


def _env(scratch: Path, registry: str) -> NpmEnv:
    """A fresh npmrc, npm cache and ipnpm store: nothing warm."""
    return NpmEnv(scratch / "env", registry=registry)


INSTALLS: tuple[Scenario, ...] = (
    Scenario("npm-far", "npm ci, far upstream", _npm_far),
    Scenario("npm-verdaccio", "npm ci, warm Verdaccio", _npm_verdaccio),
    Scenario("npm-offline", "npm ci --offline, warm npm cache", _npm_offline),
    Scenario("ipnpm-lan", "ipnpm ci, LAN Kubo peer", _ipnpm_lan),
    Scenario("ipnpm-store", "ipnpm ci, warm store", _ipnpm_store),
    Scenario("ipnpm-far", "ipnpm ci, far upstream, empty store", _ipnpm_far),
)


def _prefetch(project: Prepared, world: World, scratch: Path) -> Measurement:
    return prefetch(project, world, scratch, None)


def _prefetch_serial(project: Prepared, world: World, scratch: Path) -> Measurement:
    return prefetch(project, world, scratch, 1)


PREFETCHES: tuple[Scenario, ...] = (
    Scenario("prefetch", "ipnpm ipfs fetch from a local Kubo", _prefetch),
    Scenario("prefetch-jobs1", "ipnpm --jobs 1 ipfs fetch (baseline)", _prefetch_serial),
)
ALL = INSTALLS + PREFETCHES
