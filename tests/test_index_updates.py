"""Acceptance (issue 14): index updates that peers can read, and several indexes per node.

Publisher and client are separate Kubo daemons on one private network; the client's npm
registry is a port nothing listens on, so everything it installs comes through the index.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests

from ipnpm.index.mfs import EMPTY_RAW_BLOCK
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
from tests.support.kubo import KuboNode, kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, make_project
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]
TTL = 1.0


def _readable_by(peer: KuboNode, root: str, path: str) -> bytes:
    """The file, as a peer's gateway serves it: a CAR with every block of it (a missing one
    would be left out, as Kubo does, and the read below would stall)."""
    response = requests.get(f"{peer.gateway_url}/ipfs/{root}/{path}", timeout=20)
    assert response.status_code == 200, (path, response.status_code)
    return response.content


def _client_install(
    client: NpmEnv, node: KuboNode, names: list[str], specs: list[str], where: Path
) -> None:
    project = make_project(where, {})
    env = kubo_env(node, IPNPM_INDEXES=" ".join(names))
    ipnpm_ok(client, ["install", *specs, *NPM_FLAGS], project, env)


def test_updates_reach_a_peer_after_the_ttl(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    package = unique_name()
    publish_upstream(verdaccio, package, "1.0.0")
    client = NpmEnv(tmp_path / "client", registry=dead_registry())
    swarm = new_swarm_key()
    with (
        kubo_node(tmp_path / "pub", swarm_key=swarm) as pub,
        kubo_node(tmp_path / "peer", swarm_key=swarm) as peer,
    ):
        peer.rpc("swarm/connect", pub.multiaddr())
        index_add(npm_env, pub, "live", [f"{package}@1.0.0"], tmp_path)
        name = index_publish(npm_env, pub, "live", tmp_path)
        _client_install(client, peer, [name], [f"{package}@latest"], tmp_path / "p0")
        assert installed_version(tmp_path / "p0", package) == "1.0.0"
        for minor in (1, 2, 3):
            version = f"1.{minor}.0"
            publish_upstream(verdaccio, package, version)
            root = index_add(npm_env, pub, "live", [f"{package}@{version}"], tmp_path)
            index_publish(npm_env, pub, "live", tmp_path)
            refs = pub.rpc("refs", root, recursive="true", unique="true").text
            assert EMPTY_RAW_BLOCK not in refs  # what `files write --truncate` used to leave
            time.sleep(TTL + 0.2)  # the client's cached record is stale now
            where = tmp_path / f"p{minor}"
            started = time.monotonic()
            _client_install(client, peer, [name], [f"{package}@latest"], where)
            assert installed_version(where, package) == version, f"update {minor}"
            assert time.monotonic() - started < 60
            # Each rewritten file reads from the other peer: packument, summary, shards.
            assert version in _readable_by(peer, root, f"packages/{package}").decode()
            assert b"ipnpm-index/1" in _readable_by(peer, root, "index.json")
            shards = pub.rpc("files/ls", "/ipnpm-indexes/live/integrity").json()["Entries"]
            for shard in shards:
                _readable_by(peer, root, f"integrity/{shard['Name']}")


def test_two_indexes_from_one_kubo_node(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    first, second = unique_name(), unique_name()
    publish_upstream(verdaccio, first, "1.0.0")
    publish_upstream(verdaccio, second, "2.0.0")
    client = NpmEnv(tmp_path / "client", registry=dead_registry())
    swarm = new_swarm_key()
    with (
        kubo_node(tmp_path / "pub", swarm_key=swarm) as pub,
        kubo_node(tmp_path / "peer", swarm_key=swarm) as peer,
    ):
        peer.rpc("swarm/connect", pub.multiaddr())
        index_add(npm_env, pub, "one", [f"{first}@1.0.0"], tmp_path)
        index_add(npm_env, pub, "two", [f"{second}@2.0.0"], tmp_path)
        names = [index_publish(npm_env, pub, key, tmp_path) for key in ("one", "two")]
        assert names[0] != names[1]
        for name in names:
            resolved = ipnpm_ok(
                client, ["ipfs", "index", "resolve", name], tmp_path, kubo_env(peer)
            )
            assert resolved.stdout.strip().startswith("bafy")
        _client_install(client, peer, names, [first, second], tmp_path / "both")
    assert installed_version(tmp_path / "both", first) == "1.0.0"
    assert installed_version(tmp_path / "both", second) == "2.0.0"
