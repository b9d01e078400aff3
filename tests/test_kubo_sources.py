"""Acceptance (IPFS): CIDs match Kubo; installs from a private IPFS network with the upstream
gone; Kubo taken away mid-run; a daemon on the default repo is used over its API only."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bad_servers import corrupting_gateway
from tests.support.kubo import KuboNode, init_repo, kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import installed_specs, last_run, obtained
from tests.support.verdaccio import Verdaccio

MIB = 1 << 20
DEPS = {"ipnpm-fixture-c": "^2.0.0", "ipnpm-fixture-big": "1.0.0", "@pub/scoped": "1.0.0"}


def test_ipfs_cid_matches_kubo(tmp_path: Path, npm_env: NpmEnv) -> None:
    sizes = [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 5, 20 * MIB]
    files = []
    for size in sizes:
        path = tmp_path / f"f{size}"
        path.write_bytes(random.Random(size).randbytes(size))
        files.append(path)
    repo = init_repo(tmp_path / "repo")
    ours = npm_env.run_ipnpm(["ipfs", "cid", *map(str, files)], tmp_path)
    assert ours.returncode == 0, describe(ours)
    got = dict(reversed(line.split("  ", 1)) for line in ours.stdout.splitlines())
    for path in files:
        kubo = repo.cli(
            "add",
            "--only-hash",
            "-Q",
            "--cid-version=1",
            "--raw-leaves",
            "--chunker=size-1048576",
            str(path),
        ).strip()
        assert got[str(path)] == kubo, path.name


@pytest.fixture
def private_network(tmp_path: Path) -> Iterator[tuple[KuboNode, KuboNode]]:
    key = new_swarm_key()
    with (
        kubo_node(tmp_path / "a", swarm_key=key) as a,
        kubo_node(tmp_path / "b", swarm_key=key) as b,
    ):
        b.rpc("swarm/connect", a.multiaddr())
        yield a, b


def _fresh(npm_env: NpmEnv, project: Path) -> None:
    shutil.rmtree(project / "node_modules", ignore_errors=True)
    shutil.rmtree(npm_env.cache_dir, ignore_errors=True)
    shutil.rmtree(npm_env.store_dir, ignore_errors=True)


def _pins(node: KuboNode) -> set[str]:
    return set(node.rpc("pin/ls", type="recursive").json()["Keys"])


def test_private_network_install_with_the_upstream_gone(
    npm_env: NpmEnv,
    tmp_path: Path,
    verdaccio: Verdaccio,
    private_network: tuple[KuboNode, KuboNode],
) -> None:
    a, b = private_network
    project = make_project(tmp_path / "project", DEPS)
    installed = npm_env.run_ipnpm(["--ipnpm-kubo", a.api_url, "install"], project)
    assert installed.returncode == 0, describe(installed)
    cidlock = json.loads((project / "ipnpm-lock.json").read_text())
    assert cidlock["cidProfile"] == "unixfs-v1-2025"
    cids = {entry["spec"]: entry["cid"] for entry in cidlock["tarballs"].values()}
    assert set(cids) == installed_specs(project)
    assert cids["ipnpm-fixture-big@1.0.0"].startswith("bafybei")  # > 1 MiB: a dag-pb root
    assert set(cids.values()) <= _pins(a)  # seeded into A, pinned, with our CIDs
    expected = installed_specs(project)
    _fresh(npm_env, project)
    before = (project / "ipnpm-lock.json").read_bytes()

    with verdaccio.stopped():
        result = npm_env.run_ipnpm(["--ipnpm-kubo", b.api_url, "ci"], project)

    assert result.returncode == 0, describe(result)
    assert installed_specs(project) == expected
    assert set(obtained(npm_env.store_dir).values()) == {"kubo"}
    assert (project / "ipnpm-lock.json").read_bytes() == before  # ci never writes it


def test_kubo_stopped_falls_back_and_names_what_is_missing(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    project = make_project(tmp_path / "project", DEPS)
    with kubo_node(tmp_path / "kubo") as node:
        assert npm_env.run_ipnpm(["--ipnpm-kubo", node.api_url, "install"], project).returncode == 0
        _fresh(npm_env, project)
        stopper = _stop_after_first_kubo_tarball(npm_env.store_dir, node)
        result = npm_env.run_ipnpm(["--ipnpm-kubo", node.api_url, "ci"], project)
        stopper.join()
    assert result.returncode == 0, describe(result)
    sources = set(obtained(npm_env.store_dir).values())
    assert "upstream" in sources or sources == {"kubo"}

    # Now nothing is left: Kubo is gone and so is the upstream.
    _fresh(npm_env, project)
    with verdaccio.stopped():
        failed = npm_env.run_ipnpm(["--ipnpm-kubo", node.api_url, "ci"], project)
    assert failed.returncode != 0
    assert "could not be served" in failed.stderr
    for spec in installed_specs_from_lock(project):
        assert spec in failed.stderr
    assert "kubo: Kubo at" in failed.stderr and "upstream:" in failed.stderr
    assert "Traceback" not in failed.stderr


def installed_specs_from_lock(project: Path) -> set[str]:
    return {
        e["spec"]
        for e in json.loads((project / "ipnpm-lock.json").read_text())["tarballs"].values()
    }


def _stop_after_first_kubo_tarball(store: Path, node: KuboNode) -> threading.Thread:
    """Stop Kubo as soon as it has served one tarball of the run that is about to start."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if any(e.get("source") == "kubo" for e in last_run(store)):
                    break
            except (AssertionError, OSError, ValueError):
                pass
            time.sleep(0.005)
        node.stop()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_daemon_on_the_default_repo_is_used_over_its_api(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    repo = npm_env.home / ".ipfs"  # ~/.ipfs of the test's HOME, found with --kubo auto
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    with kubo_node(tmp_path / "kubo", repo=repo) as node:
        lock_before = (repo / "repo.lock").stat()
        ipfs_processes = _ipfs_process_count()
        result = npm_env.run_ipnpm(["install"], project)
        assert result.returncode == 0, describe(result)
        assert _pins(node) >= set(installed_cids(project))  # seeded through the API
        assert (repo / "repo.lock").stat().st_ino == lock_before.st_ino
        assert _ipfs_process_count() == ipfs_processes  # ipnpm started no ipfs of its own
        assert node.process is not None and node.process.poll() is None
    seeded = [e for e in last_run(npm_env.store_dir) if e["event"] == "seeded"]
    assert len(seeded) == 2


def installed_cids(project: Path) -> list[str]:
    return [
        e["cid"] for e in json.loads((project / "ipnpm-lock.json").read_text())["tarballs"].values()
    ]


def _ipfs_process_count() -> int:
    result = subprocess.run(
        ["pgrep", "-c", "-x", "ipfs"], capture_output=True, text=True, check=False
    )
    return int(result.stdout.strip() or 0)


def test_no_seed_leaves_kubo_alone(npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio) -> None:
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    with kubo_node(tmp_path / "kubo") as node:
        pins_before = _pins(node)
        result = npm_env.run_ipnpm(
            ["--ipnpm-kubo", node.api_url, "install"], project, env={"IPNPM_SEED": "0"}
        )
        assert result.returncode == 0, describe(result)
        assert _pins(node) == pins_before


def test_gateways_only_and_a_corrupting_gateway_is_dropped(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    project = make_project(tmp_path / "project", DEPS)
    with kubo_node(tmp_path / "kubo") as node:
        seeded = npm_env.run_ipnpm(["--ipnpm-kubo", node.api_url, "install"], project)
        assert seeded.returncode == 0, describe(seeded)
        expected = installed_specs(project)
        with verdaccio.stopped():
            _fresh(npm_env, project)
            only = npm_env.run_ipnpm(
                ["--ipnpm-kubo", "off", "--ipnpm-gateway", node.gateway_url, "ci"], project
            )
            assert only.returncode == 0, describe(only)
            assert set(obtained(npm_env.store_dir).values()) == {"gateway"}
            assert installed_specs(project) == expected

            _fresh(npm_env, project)
            with corrupting_gateway(node.gateway_url) as evil:
                args = [
                    "--ipnpm-kubo",
                    "off",
                    "--ipnpm-gateway",
                    evil.url,
                    "--ipnpm-gateway",
                    node.gateway_url,
                ]
                raced = npm_env.run_ipnpm([*args, "ci"], project)
                asked_during_run = evil.requests
            assert raced.returncode == 0, describe(raced)
    assert installed_specs(project) == expected
    assert asked_during_run >= 1  # the bad gateway really was asked first
    dropped = [e for e in last_run(npm_env.store_dir) if e["event"] == "gateway-dropped"]
    assert [e["url"] for e in dropped] == [evil.url]
    assert "dropped for this run: block" in raced.stderr
    assert "does not match its hash" in raced.stderr
    assert set(obtained(npm_env.store_dir).values()) == {"gateway"}
    verify = npm_env.run_ipnpm(["ipfs", "store", "verify"], project)
    assert verify.returncode == 0, describe(verify)
    assert "0 bad" in verify.stdout
