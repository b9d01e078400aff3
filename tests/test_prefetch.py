"""Acceptance (prefetch): every locked tarball once, in parallel with npm; lockfile shapes;
`ipnpm ipfs fetch` counts, JSON, progress and missing packages."""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import pexpect
import pytest

from tests.support.npm_env import NpmEnv, describe, make_project, tree_of
from tests.support.runlog import delivered, installed_specs, obtained, tarball_events
from tests.support.verdaccio import Verdaccio

DEPS = {
    "ipnpm-fixture-c": "^2.0.0",
    "ipnpm-fixture-big": "1.0.0",
    "@pub/scoped": "1.0.0",
    "b-alias": "npm:ipnpm-fixture-b@1.0.0",
    "ipnpm-fixture-native": "1.0.0",
}


def _locked(npm_env: NpmEnv, directory: Path, deps: dict[str, str] | None, *flags: str) -> Path:
    if deps is not None:
        make_project(directory, deps)
    cache = {"npm_config_cache": str(npm_env.root / "cache-lock")}
    result = npm_env.run_npm(["install", "--package-lock-only", *flags], directory, env=cache)
    assert result.returncode == 0, describe(result)
    return directory


def _workspace_project(npm_env: NpmEnv, directory: Path) -> Path:
    make_project(directory, {"ipnpm-fixture-a": "1.0.0"})
    manifest = json.loads((directory / "package.json").read_text())
    manifest["workspaces"] = ["packages/*"]
    (directory / "package.json").write_text(json.dumps(manifest))
    make_project(directory / "packages" / "web", {"ipnpm-fixture-c": "2.0.0"}, name="web")
    make_project(
        directory / "packages" / "lib", {"b-alias": "npm:ipnpm-fixture-b@1.1.0"}, name="lib"
    )
    return _locked(npm_env, directory, None)


def test_single_flight_each_tarball_downloaded_once(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    project = _locked(npm_env, tmp_path / "p", DEPS)
    mark = verdaccio.mark()
    result = npm_env.run_ipnpm(["ci"], project)
    assert result.returncode == 0, describe(result)
    gets = Counter(verdaccio.tarball_gets(mark))
    assert gets, "the upstream served nothing?"
    assert max(gets.values()) == 1, gets
    assert len(gets) == len(installed_specs(project))
    prefetched = [e for e in tarball_events(npm_env.store_dir) if e["purpose"] == "prefetch"]
    assert prefetched  # the prefetch really ran alongside npm
    assert set(delivered(npm_env.store_dir)) == installed_specs(project)


@pytest.mark.parametrize("kind", ["workspaces", "alias-and-platform", "v1"])
def test_lockfile_shapes_install_like_npm(npm_env: NpmEnv, tmp_path: Path, kind: str) -> None:
    if kind == "workspaces":
        source = _workspace_project(npm_env, tmp_path / "source")
    elif kind == "v1":
        source = _locked(npm_env, tmp_path / "source", DEPS, "--lockfile-version=1")
    else:
        source = _locked(npm_env, tmp_path / "source", DEPS)
    plain = shutil.copytree(source, tmp_path / "plain")
    ours = shutil.copytree(source, tmp_path / "ours")
    expected = npm_env.run_npm(["ci"], plain, env={"npm_config_cache": str(tmp_path / "c1")})
    got = npm_env.run_ipnpm(["ci"], ours, env={"npm_config_cache": str(tmp_path / "c2")})
    assert expected.returncode == 0, describe(expected)
    assert got.returncode == 0, describe(got)
    assert tree_of(ours) == tree_of(plain)
    fetched = set(obtained(npm_env.store_dir))
    if kind == "v1":
        # A v1 lockfile records no os/cpu: the prefetch cannot know what npm will skip.
        assert fetched >= installed_specs(ours)
        return
    assert fetched == installed_specs(ours)
    if kind == "alias-and-platform":
        assert "ipnpm-fixture-b@1.0.0" in fetched  # the alias's real package
        assert "ipnpm-fixture-os-here@1.0.0" in fetched
        assert not {"ipnpm-fixture-os-darwin@1.0.0", "ipnpm-fixture-os-win@1.0.0"} & fetched


def test_ipfs_fetch_counts_and_json(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = _locked(npm_env, tmp_path / "p", DEPS)
    lock = json.loads((project / "package-lock.json").read_text())
    here = {
        key.rsplit("node_modules/", 1)[-1]
        for key, entry in lock["packages"].items()
        if key and not set(entry.get("os", ["linux"])) - {"linux"}
    }
    first = npm_env.run_ipnpm(
        ["--ipnpm-jobs", "1", "ipfs", "fetch", "--json"], project, env={"CI": "true"}
    )
    assert first.returncode == 0, describe(first)
    totals = json.loads(first.stdout)
    assert totals["packages"] == len(here)
    assert totals["sources"] == {"upstream": len(here)}
    assert totals["missing"] == {}
    assert totals["bytes"] > 1_500_000  # the big fixture is in there
    assert "\r" not in first.stderr and "\x1b[" not in first.stderr  # no animation in CI
    assert not (project / "node_modules").exists()  # npm never ran

    again = npm_env.run_ipnpm(["ipfs", "fetch"], project, env={"CI": "true"})
    assert again.returncode == 0, describe(again)
    assert f"ipnpm: {len(here)} packages · {len(here)} store · " in again.stderr


def test_ipfs_fetch_live_line_on_a_terminal(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = _locked(npm_env, tmp_path / "p", DEPS)
    env = npm_env.env()
    env.pop("CI", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ipnpm", "ipfs", "fetch"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "\x1b[K" in child.before  # the live line was drawn, then cleared
    assert "packages · " in child.before


def test_ipfs_fetch_names_what_is_missing(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    project = _locked(npm_env, tmp_path / "p", {"ipnpm-fixture-c": "2.0.0"})
    with verdaccio.stopped():
        result = npm_env.run_ipnpm(["ipfs", "fetch"], project)
    assert result.returncode == 6, describe(result)
    for spec in ("ipnpm-fixture-a@1.0.0", "ipnpm-fixture-b@1.1.0", "ipnpm-fixture-c@2.0.0"):
        assert spec in result.stderr
    assert "upstream: upstream unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_verified_tarballs_are_handed_to_npms_cache(npm_env: NpmEnv, tmp_path: Path) -> None:
    """From a warm store, npm finds every tarball in its own cache and asks the proxy for none."""
    project = _locked(npm_env, tmp_path / "p", DEPS)
    assert npm_env.run_ipnpm(["ipfs", "fetch"], project).returncode == 0  # warm the store
    result = npm_env.run_ipnpm(["ci"], project)
    assert result.returncode == 0, describe(result)
    how = delivered(npm_env.store_dir)
    assert set(how) == installed_specs(project)
    assert set(how.values()) == {"npm-cache"}, how
