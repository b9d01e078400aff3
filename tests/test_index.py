"""Acceptance (index): a registry as a signed list of hashes, resolved and verified by ipnpm;
two indexes with scope routing; republishing, TTL and offline use of a cached index."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.support.bad_servers import recording_gateway
from tests.support.corpus import CORPUS_TIMEOUT, check_tree, corpus_project
from tests.support.kubo import KuboNode, kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import installed_specs, last_run, obtained
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]


def _publish(
    npm_env: NpmEnv,
    kubo: KuboNode,
    cwd: Path,
    specs: list[str],
    *,
    ttl: str = "5m",
    lifetime: str = "48h",
    key: str = "index",
) -> str:
    added = npm_env.run_ipnpm(
        ["--ipnpm-kubo", kubo.api_url, "ipfs", "index", "add", "--key", key, *specs], cwd
    )
    assert added.returncode == 0, describe(added)
    published = npm_env.run_ipnpm(
        [
            "--ipnpm-kubo",
            kubo.api_url,
            "ipfs",
            "index",
            "publish",
            "--key",
            key,
            "--ttl",
            ttl,
            "--lifetime",
            lifetime,
        ],
        cwd,
    )
    assert published.returncode == 0, describe(published)
    name = published.stdout.strip()
    assert name.startswith("k51"), published.stdout
    return name


@pytest.mark.timeout(CORPUS_TIMEOUT)
def test_index_on_a_private_network_with_the_upstream_gone(
    tmp_path: Path, corpus_registry: Verdaccio
) -> None:
    project_name = "tiny-actions-github"
    publisher_env = NpmEnv(tmp_path / "publisher", registry=corpus_registry.url)
    source = corpus_project(project_name, tmp_path / "source", corpus_registry.url.rstrip("/"))
    key = new_swarm_key()
    with (
        kubo_node(tmp_path / "a", swarm_key=key) as a,
        kubo_node(tmp_path / "b", swarm_key=key) as b,
    ):
        b.rpc("swarm/connect", a.multiaddr())
        name = _publish(publisher_env, a, source, [str(source / "package-lock.json")])

        client = NpmEnv(tmp_path / "client", registry=corpus_registry.url)
        project = shutil.copytree(source, tmp_path / "client-project")
        assert not (project / "ipnpm-lock.json").exists()
        with corpus_registry.stopped():
            result = client.run_ipnpm(
                ["--ipnpm-kubo", b.api_url, "--ipnpm-index", name, "ci", *NPM_FLAGS], project
            )
    assert result.returncode == 0, describe(result)
    tree = check_tree(project_name, project)
    assert tree.missing == ()
    assert set(obtained(client.store_dir).values()) == {"kubo"}  # by CIDs from the index
    resolved = [e for e in last_run(client.store_dir) if e["event"] == "index"]
    assert [e["name"] for e in resolved] == [name]


def test_two_indexes_route_scopes_and_never_leak(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio, private_verdaccio: Verdaccio
) -> None:
    with kubo_node(tmp_path / "pub") as pub, kubo_node(tmp_path / "priv") as priv:
        priv.rpc("swarm/connect", pub.multiaddr())
        public_name = _publish(
            npm_env,
            pub,
            tmp_path,
            ["ipnpm-fixture-c@2.0.0", "ipnpm-fixture-a@1.0.0", "ipnpm-fixture-b@^1"],
            key="public",
        )
        private_name = _publish(
            npm_env, priv, tmp_path, ["@acme/secret@1.0.0", "ipnpm-fixture-b@1.1.0"], key="acme"
        )
        project = make_project(tmp_path / "project", {})
        marks = verdaccio.mark(), private_verdaccio.mark()
        with recording_gateway(pub.gateway_url) as gateway:
            args = [
                "--ipnpm-kubo",
                "off",
                "--ipnpm-gateway",
                gateway.url,
                "--ipnpm-index",
                f"@acme={private_name}",
                "--ipnpm-index",
                public_name,
            ]
            result = npm_env.run_ipnpm(
                [*args, "install", "@acme/secret", "ipnpm-fixture-c"], project
            )
            asked = list(gateway.paths)
    assert result.returncode == 0, describe(result)
    assert {"@acme/secret@1.0.0", "ipnpm-fixture-c@2.0.0"} <= installed_specs(project)
    assert private_verdaccio.requests(marks[1]) == []  # the private upstream: never asked
    assert not [r for r in verdaccio.requests(marks[0]) if "acme" in r.path]
    public_root = _root_of(npm_env, public_name)
    assert not [p for p in asked if public_root in p and "acme" in p]  # public index: never
    assert [p for p in asked if "acme" in p]  # … while the private index was asked
    sources = {e["source"] for e in last_run(npm_env.store_dir) if e["event"] == "packument"}
    assert sources == {"index"}
    lock = json.loads((project / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@acme/secret"]["resolved"].startswith(
        private_verdaccio.url
    )


def _root_of(npm_env: NpmEnv, name: str) -> str:
    cached = json.loads((npm_env.store_dir / "indexes" / f"{name}.json").read_text())
    from base64 import b64decode

    from ipnpm.ipfs.ipns import verify_record

    return verify_record(name, b64decode(cached["record"])).value.removeprefix("/ipfs/")


def test_republish_ttl_and_offline_cache(npm_env: NpmEnv, tmp_path: Path) -> None:
    with kubo_node(tmp_path / "pub") as pub:
        name = _publish(
            npm_env,
            pub,
            tmp_path,
            ["ipnpm-fixture-a@1.0.0", "ipnpm-fixture-b@1.1.0"],
            ttl="2s",
            lifetime="12s",
        )
        first = make_project(tmp_path / "first", {})
        args = ["--ipnpm-kubo", "off", "--ipnpm-gateway", pub.gateway_url, "--ipnpm-index", name]
        result = npm_env.run_ipnpm([*args, "install", "ipnpm-fixture-a"], first)
        assert result.returncode == 0, describe(result)
        old_root = _root_of(npm_env, name)

        _publish(npm_env, pub, tmp_path, ["ipnpm-fixture-big@1.0.0"], ttl="2s", lifetime="12s")
        time.sleep(2.5)  # the record's TTL: the client must look again now
        second = make_project(tmp_path / "second", {})
        result = npm_env.run_ipnpm([*args, "install", "ipnpm-fixture-big"], second)
        assert result.returncode == 0, describe(result)
        assert _root_of(npm_env, name) != old_root
        published_at = time.monotonic()

    # The publisher is gone: offline, the cached index serves until its record expires.
    third = make_project(tmp_path / "third", {})
    offline = npm_env.run_ipnpm([*args, "--offline", "install", "ipnpm-fixture-big"], third)
    assert offline.returncode == 0, describe(offline)
    assert "offline, using the cached record" in offline.stderr
    assert "valid until" in offline.stderr
    shutil.rmtree(first / "node_modules")
    again = npm_env.run_ipnpm([*args, "--offline", "ci"], first)
    assert again.returncode == 0, describe(again)
    time.sleep(max(0.0, 13 - (time.monotonic() - published_at)))
    # Expired: every tarball of this lockfile is already trusted (and stored), so ci goes on
    # after saying so; learning a package from the expired index is refused.
    expired = npm_env.run_ipnpm([*args, "--offline", "ci"], first)
    assert expired.returncode == 0, describe(expired)
    assert "expired" in expired.stderr
    assert "never for packuments" in expired.stderr
    fourth = make_project(tmp_path / "fourth", {})
    refused = npm_env.run_ipnpm([*args, "--offline", "install", "ipnpm-fixture-b"], fourth)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
