"""Acceptance: ipnpm install / ci give exactly what npm gives, every tarball through the proxy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.npm_env import NpmEnv, describe, make_project, tree_of
from tests.support.runlog import delivered, installed_specs, served_events, tarball_events
from tests.support.verdaccio import Verdaccio

DEPS = {"ipnpm-fixture-c": "^2.0.0", "@pub/scoped": "1.0.0", "ipnpm-fixture-big": "1.0.0"}


def _isolated_cache(npm_env: NpmEnv, name: str) -> dict[str, str]:
    # Separate npm caches: a tarball npm already has would never reach the proxy.
    return {"npm_config_cache": str(npm_env.root / name)}


def test_install_gives_the_same_lockfile_and_tree_as_npm(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    plain = make_project(tmp_path / "plain", {})
    ours = make_project(tmp_path / "ours", {})
    args = ["install", "ipnpm-fixture-c", "@pub/scoped", "ipnpm-fixture-big"]

    expected = npm_env.run_npm(args, plain, env=_isolated_cache(npm_env, "cache-a"))
    got = npm_env.run_ipnpm(args, ours, env=_isolated_cache(npm_env, "cache-b"))

    assert expected.returncode == 0, describe(expected)
    assert got.returncode == 0, describe(got)
    lock = (ours / "package-lock.json").read_bytes()
    assert lock == (plain / "package-lock.json").read_bytes()
    assert (ours / "package.json").read_bytes() == (plain / "package.json").read_bytes()
    assert tree_of(ours) == tree_of(plain)
    resolved = [e["resolved"] for e in json.loads(lock)["packages"].values() if "resolved" in e]
    assert resolved and all(url.startswith(verdaccio.url) for url in resolved), resolved
    served = served_events(npm_env.store_dir)
    assert {e["spec"] for e in served} == installed_specs(ours)
    assert all(e["verified"] and e["source"] == "upstream" for e in served)


def _locked_project(npm_env: NpmEnv, directory: Path, lock_args: list[str]) -> Path:
    """A project whose lockfile plain npm wrote with ``lock_args``."""
    make_project(directory, DEPS)
    result = npm_env.run_npm(
        ["install", "--package-lock-only", *lock_args],
        directory,
        env=_isolated_cache(npm_env, "cache-lock"),
    )
    assert result.returncode == 0, describe(result)
    return directory


LOCKFILE_KINDS = {
    "v1": ["--lockfile-version=1"],
    "v2": ["--lockfile-version=2"],
    "v3": ["--lockfile-version=3"],
    "v3-without-resolved": ["--lockfile-version=3", "--omit-lockfile-registry-resolved"],
    "shrinkwrap": ["--lockfile-version=3"],
}


@pytest.mark.parametrize("kind", list(LOCKFILE_KINDS))
def test_ci_gives_the_same_tree_as_npm_ci(npm_env: NpmEnv, tmp_path: Path, kind: str) -> None:
    source = _locked_project(npm_env, tmp_path / "source", LOCKFILE_KINDS[kind])
    if kind == "shrinkwrap":
        shrink = npm_env.run_npm(["shrinkwrap"], source)
        assert shrink.returncode == 0, describe(shrink)
        assert (source / "npm-shrinkwrap.json").is_file()
    lock_name = "npm-shrinkwrap.json" if kind == "shrinkwrap" else "package-lock.json"
    lock = json.loads((source / lock_name).read_text())
    if kind == "v3-without-resolved":
        assert not any("resolved" in e for e in lock["packages"].values())
    plain = shutil.copytree(source, tmp_path / "plain")
    ours = shutil.copytree(source, tmp_path / "ours")

    expected = npm_env.run_npm(["ci"], plain, env=_isolated_cache(npm_env, "cache-a"))
    got = npm_env.run_ipnpm(["ci"], ours, env=_isolated_cache(npm_env, "cache-b"))

    assert expected.returncode == 0, describe(expected)
    assert got.returncode == 0, describe(got)
    assert tree_of(ours) == tree_of(plain)
    assert (ours / lock_name).read_bytes() == (source / lock_name).read_bytes()
    # Every tarball npm installed went through ipnpm, verified: served by the proxy, or put
    # into npm's cache by the prefetch before npm asked.
    assert set(delivered(npm_env.store_dir)) == installed_specs(ours), got.stderr
    fetched = {e["spec"] for e in tarball_events(npm_env.store_dir)}
    assert f"ipnpm: {len(fetched)} packages" in got.stderr
