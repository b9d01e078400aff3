"""Acceptance (issue 14): doctor fails for each broken IPFS part, and passes when healthy."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from tests.support.index_helpers import (
    index_add,
    index_publish,
    ipnpm_ok,
    kubo_env,
    publish_upstream,
    unique_name,
)
from tests.support.kubo import init_repo, kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]


def _doctor(env: NpmEnv, cwd: Path, extra: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = env.run_ipnpm(["ipfs", "doctor", "--json"], cwd, env=extra)
    assert "Traceback" not in result.stderr, describe(result)
    document = json.loads(result.stdout)
    assert (result.returncode == 0) is document["ok"], describe(result)
    return result.returncode, {check["part"]: check for check in document["checks"]}


def _bad(checks: dict[str, Any]) -> list[str]:
    return [part for part, check in checks.items() if not check["ok"]]


def test_doctor_fails_for_each_broken_ipfs_part(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    package = unique_name()
    publish_upstream(verdaccio, package, "1.0.0")
    swarm = new_swarm_key()
    # A live registry: doctor checks it too, and only the IPFS parts are broken here.
    client = NpmEnv(tmp_path / "client", registry=verdaccio.url)
    project = make_project(tmp_path / "project", {})
    with (
        kubo_node(tmp_path / "pub", swarm_key=swarm) as pub,
        kubo_node(tmp_path / "peer", swarm_key=swarm) as peer,
    ):
        peer.rpc("swarm/connect", pub.multiaddr())
        index_add(npm_env, pub, "doc", [f"{package}@1.0.0"], tmp_path)
        name = index_publish(npm_env, pub, "doc", tmp_path, ttl="1s")
        env = kubo_env(peer, IPNPM_INDEXES=name)
        ipnpm_ok(client, ["install", package, *NPM_FLAGS], project, env)

        code, checks = _doctor(client, project, env)
        assert code == 0, checks
        assert {"kubo", "kubo peers", f"index {name}", "ipnpm-lock.json CIDs"} <= set(checks)
        assert "index.json read" in checks[f"index {name}"]["detail"]

        # An index whose record points at a root nobody holds: resolves, cannot be read.
        ghost_root = pub.rpc(
            "add", files={"file": secrets.token_bytes(64)}, only_hash="true", cid_version="1"
        ).json()["Hash"]
        pub.rpc("key/gen", "ghost", type="ed25519")
        ghost = pub.rpc(
            "name/publish",
            f"/ipfs/{ghost_root}",
            key="ghost",
            resolve="false",
            allow_offline="true",
            ipns_base="base36",
        ).json()["Name"]
        code, checks = _doctor(client, project, kubo_env(peer, IPNPM_INDEXES=ghost))
        assert code == 1 and _bad(checks) == [f"index {ghost}"], checks
        assert checks[f"index {ghost}"]["fix"]

        with kubo_node(tmp_path / "lonely", swarm_key=new_swarm_key()) as lonely:
            # 0 peers, while the index lives elsewhere.
            code, checks = _doctor(client, project, kubo_env(lonely, IPNPM_INDEXES=name))
            assert code == 1 and "kubo peers" in _bad(checks), checks
            # This Kubo cannot provide the project's locked CIDs, until they are seeded.
            code, checks = _doctor(client, project, kubo_env(lonely))
            assert _bad(checks) == ["ipnpm-lock.json CIDs"], checks
            assert "ipnpm ipfs seed" in checks["ipnpm-lock.json CIDs"]["fix"]
            ipnpm_ok(client, ["ipfs", "seed"], project, kubo_env(lonely))
            code, checks = _doctor(client, project, kubo_env(lonely))
            assert code == 0, checks

    # A Kubo repo whose daemon was stopped cleanly (no api file): BAD, not "ok, none found".
    (tmp_path / "stopped").mkdir()
    stopped = init_repo(tmp_path / "stopped" / "repo")
    code, checks = _doctor(client, project, {"IPFS_PATH": str(stopped.ipfs_path)})
    assert code == 1 and _bad(checks) == ["kubo"], checks
    assert "not running" in checks["kubo"]["detail"]
