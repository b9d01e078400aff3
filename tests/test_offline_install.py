"""Offline as npm's offline: npm's --offline (or offline=true in an npmrc) makes ipnpm offline;
`--offline install <spec>` names every package ipnpm cannot know about, before npm runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.verdaccio import Verdaccio


def test_offline_install_names_every_unknown_package(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {})
    result = npm_env.run_ipnpm(
        ["install", "--offline", "ipnpm-fixture-b", "@pub/scoped@1", "ipnpm-fixture-c"], project
    )
    assert result.returncode == 6, describe(result)
    for spec in ("ipnpm-fixture-b", "@pub/scoped@1", "ipnpm-fixture-c"):
        assert spec in result.stderr, describe(result)
    assert json.loads((project / "package.json").read_text())["dependencies"] == {}


def test_npmrc_offline_makes_ipnpm_offline_and_the_store_serves(
    npm_env: NpmEnv, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    first = make_project(tmp_path / "first", {})
    assert npm_env.run_ipnpm(["install", "ipnpm-fixture-c"], first).returncode == 0
    offline_world = NpmEnv(
        npm_env.root, registry=npm_env.registry, extra_config=("offline=true",)
    )  # the same store and cache, with npm's own offline=true in its npmrc
    second = make_project(tmp_path / "second", {})
    with verdaccio.stopped():
        result = offline_world.run_ipnpm(["install", "ipnpm-fixture-c"], second)
    assert result.returncode == 0, describe(result)
    assert (second / "node_modules" / "ipnpm-fixture-a" / "package.json").is_file()
    # ipnpm was offline (it never tried the upstream), and npm talked to it all the same.
    assert "unreachable" not in result.stderr, describe(result)
