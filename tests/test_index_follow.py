"""Acceptance (issue 14): an index that follows its registry.

`index add --deps` mirrors a dependency closure; after a new version is published upstream,
`index sync` adds it (and its new dependencies) and republishes; a client whose registry is
unreachable installs it from the index alone.
"""

from __future__ import annotations

import json
import time
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
from tests.support.kubo import kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, make_project
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]


def test_add_deps_then_sync_follows_new_versions(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    top, shared, newcomer = unique_name(), unique_name(), unique_name()
    publish_upstream(verdaccio, shared, "1.0.0")
    publish_upstream(verdaccio, top, "1.0.0", {shared: "^1.0.0"})
    swarm = new_swarm_key()
    client = NpmEnv(tmp_path / "client", registry=dead_registry())
    with (
        kubo_node(tmp_path / "pub", swarm_key=swarm) as pub,
        kubo_node(tmp_path / "peer", swarm_key=swarm) as peer,
    ):
        peer.rpc("swarm/connect", pub.multiaddr())
        index_add(npm_env, pub, "follow", ["--deps", f"{top}@1.0.0"], tmp_path)
        name = index_publish(npm_env, pub, "follow", tmp_path)
        env = kubo_env(peer, IPNPM_INDEXES=name)
        first = make_project(tmp_path / "first", {})
        ipnpm_ok(client, ["install", top, *NPM_FLAGS], first, env)
        assert installed_version(first, shared) == "1.0.0"

        publish_upstream(verdaccio, newcomer, "1.0.0")
        publish_upstream(verdaccio, shared, "1.1.0")
        publish_upstream(verdaccio, top, "1.1.0", {shared: "^1.1.0", newcomer: "1"})
        synced = ipnpm_ok(
            npm_env, ["ipfs", "index", "sync", "--key", "follow"], tmp_path, kubo_env(pub)
        )
        assert "new version(s)" in synced.stderr and "published index follow" in synced.stderr
        listed = pub.rpc("files/read", f"/ipnpm-indexes/follow/packages/{top}").json()
        assert set(listed["versions"]) == {"1.0.0", "1.1.0"}
        assert listed["dist-tags"]["latest"] == "1.1.0"

        time.sleep(1.2)  # the record's TTL
        second = make_project(tmp_path / "second", {})
        ipnpm_ok(client, ["install", f"{top}@latest", *NPM_FLAGS], second, env)
        assert installed_version(second, top) == "1.1.0"
        assert installed_version(second, shared) == "1.1.0"
        assert installed_version(second, newcomer) == "1.0.0"
        summary = json.loads(pub.rpc("files/read", "/ipnpm-indexes/follow/index.json").content)
        assert summary["packages"] == 3
