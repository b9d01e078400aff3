"""Acceptance (issue 14): content that outlives its seeder.

- a tarball npm took from its own cache is in Kubo after `ipnpm install`;
- `ipnpm ipfs seed --store` fills a fresh Kubo;
- with client pinning on, the publisher stopped and the record still resolvable from a peer,
  a third peer installs everything.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.index_helpers import (
    dead_registry,
    index_add,
    index_publish,
    installed_version,
    ipnpm_ok,
    kubo_env,
    publish_upstream,
    unique_name,
)
from tests.support.kubo import KuboError, KuboNode, kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import last_run
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]


def _held(node: KuboNode, cid: str) -> bool:
    try:
        node.rpc("block/stat", cid, offline="true", timeout=10)
    except KuboError:  # Kubo answers an error for a block it does not hold
        return False
    return True


def _pinned(node: KuboNode) -> set[str]:
    return set(node.rpc("pin/ls", type="recursive").json()["Keys"])


def _locked_cids(project: Path) -> dict[str, str]:
    document = json.loads((project / "ipnpm-lock.json").read_text())
    return {entry["spec"]: entry["cid"] for entry in document["tarballs"].values()}


def test_npm_cache_tarballs_are_seeded_and_seed_fills_a_fresh_kubo(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    package = unique_name()
    publish_upstream(verdaccio, package, "1.0.0")
    warm = make_project(tmp_path / "warm", {})
    plain = npm_env.run_npm(["install", package, *NPM_FLAGS], warm)  # fills npm's cache
    assert plain.returncode == 0, describe(plain)
    project = make_project(tmp_path / "project", {})
    with kubo_node(tmp_path / "k1") as first:
        ipnpm_ok(npm_env, ["install", package, *NPM_FLAGS], project, kubo_env(first))
        cid = _locked_cids(project)[f"{package}@1.0.0"]
        assert not [e for e in last_run(npm_env.store_dir) if e["event"] == "served"]
        assert _held(first, cid)  # npm never asked for it, ipnpm seeded it all the same
        assert cid in _pinned(first)
    with kubo_node(tmp_path / "k2") as fresh:
        assert not _held(fresh, cid)
        seeded = ipnpm_ok(npm_env, ["ipfs", "seed", "--store"], tmp_path, kubo_env(fresh))
        assert "seeded" in seeded.stderr and "pinned" in seeded.stderr
        objects = [p.name for p in (npm_env.store_dir / "objects").glob("*/*")]
        assert objects and set(objects) <= _pinned(fresh)


def test_pinning_clients_keep_an_index_alive_without_its_publisher(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    dependency, package = unique_name(), unique_name()
    publish_upstream(verdaccio, dependency, "1.0.0")
    publish_upstream(verdaccio, package, "1.0.0", {dependency: "^1.0.0"})
    swarm = new_swarm_key()
    with (
        kubo_node(tmp_path / "pub", swarm_key=swarm) as pub,
        kubo_node(tmp_path / "fleet", swarm_key=swarm) as fleet,
        kubo_node(tmp_path / "third", swarm_key=swarm) as third,
    ):
        fleet.rpc("swarm/connect", pub.multiaddr())
        third.rpc("swarm/connect", fleet.multiaddr())
        index_add(npm_env, pub, "kept", [f"{package}@1.0.0", f"{dependency}@1.0.0"], tmp_path)
        name = index_publish(npm_env, pub, "kept", tmp_path, ttl="1s")

        client = NpmEnv(tmp_path / "client", registry=dead_registry())
        env = kubo_env(fleet, IPNPM_INDEXES=name, IPNPM_PIN="1")
        ipnpm_ok(client, ["install", package, *NPM_FLAGS], make_project(tmp_path / "a", {}), env)
        pub.stop()
        fleet.rpc("repo/gc", timeout=60)  # only what the client pinned survives

        other = NpmEnv(tmp_path / "other", registry=dead_registry())
        project = make_project(tmp_path / "b", {})
        ipnpm_ok(
            other, ["install", package, *NPM_FLAGS], project, kubo_env(third, IPNPM_INDEXES=name)
        )
    assert installed_version(project, package) == "1.0.0"
    assert installed_version(project, dependency) == "1.0.0"
