"""Acceptance (issue 14): a stale or unreachable index degrades, never blocks.

A run that needs nothing from the index (every CID in ipnpm-lock.json) warns once and goes
on; a package only that index could supply fails naming the index and the cause, within a
bounded wait.
"""

from __future__ import annotations

import time
from pathlib import Path

from ipnpm.index.records import RESOLVE_WAIT
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
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]
LIFETIME = 6.0


def test_expired_and_unresolvable_indexes(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    locked, later = unique_name(), unique_name()
    publish_upstream(verdaccio, locked, "1.0.0")
    publish_upstream(verdaccio, later, "1.0.0")
    swarm = new_swarm_key()
    with (
        kubo_node(tmp_path / "pub", swarm_key=swarm) as pub,
        kubo_node(tmp_path / "peer", swarm_key=swarm) as peer,
    ):
        peer.rpc("swarm/connect", pub.multiaddr())
        index_add(npm_env, pub, "brief", [f"{locked}@1.0.0", f"{later}@1.0.0"], tmp_path)
        name = index_publish(npm_env, pub, "brief", tmp_path, lifetime=f"{LIFETIME:g}s")
        published = time.monotonic()
        nowhere = pub.rpc("key/gen", "never-published", type="ed25519", ipns_base="base36")
        unresolvable = nowhere.json()["Id"]

        client = NpmEnv(tmp_path / "client", registry=dead_registry())
        project = make_project(tmp_path / "project", {})
        ipnpm_ok(
            client, ["install", locked, *NPM_FLAGS], project, kubo_env(peer, IPNPM_INDEXES=name)
        )
        assert (project / "ipnpm-lock.json").is_file()

        # 1. A name that resolves nowhere: ci needs nothing from it.
        fresh_store = {"IPNPM_STORE": str(tmp_path / "store-2")}
        env = kubo_env(peer, IPNPM_INDEXES=unresolvable, **fresh_store)
        started = time.monotonic()
        ci = client.run_ipnpm(["ci", *NPM_FLAGS], project, env=env)
        assert ci.returncode == 0, describe(ci)
        assert time.monotonic() - started < RESOLVE_WAIT + 30
        assert installed_version(project, locked) == "1.0.0"
        assert ci.stderr.count(f"index {unresolvable}") == 1, ci.stderr  # warned once
        assert f"up to {RESOLVE_WAIT:g}s" in ci.stderr
        other = make_project(tmp_path / "other", {})
        started = time.monotonic()
        fails = client.run_ipnpm(["install", later, *NPM_FLAGS], other, env=env)
        assert fails.returncode != 0
        assert time.monotonic() - started < RESOLVE_WAIT + 60
        assert unresolvable in fails.stderr and "cannot resolve" in fails.stderr, fails.stderr

        # 2. The real index's record expires (the publisher does not republish it); the
        # client's store keeps the record it verified, and the tarballs.
        time.sleep(max(0.0, LIFETIME + 1 - (time.monotonic() - published)))
        env = kubo_env(peer, IPNPM_INDEXES=name)
        ci = client.run_ipnpm(["ci", *NPM_FLAGS], project, env=env)
        assert ci.returncode == 0, describe(ci)
        assert "expired" in ci.stderr and name in ci.stderr
        late = make_project(tmp_path / "late", {})
        refused = client.run_ipnpm(["install", later, *NPM_FLAGS], late, env=env)
        assert refused.returncode != 0
        assert name in refused.stderr and "expired" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
