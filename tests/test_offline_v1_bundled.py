"""A v1 lockfile (npm 6) whose macOS-only optional package bundles two dependencies: npm's
"old lockfile" fix-up needs the real packuments (os, bundled versions), which ipnpm keeps from
the online run and serves offline. npm itself is the oracle: `npm ci --offline` on a warm cache
succeeds, so `ipnpm --offline ci` on a warm store must give the same tree."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from tests.support.npm_env import REPO_ROOT, NpmEnv, describe, tree_of
from tests.support.runlog import last_run
from tests.support.verdaccio import Verdaccio

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "lockfiles-v1" / "bundled-darwin"


def _project(directory: Path, registry: Verdaccio) -> Path:
    """The npm 6 fixture, on this run's Verdaccio, with the integrities it serves today."""
    shutil.copytree(FIXTURE, directory)
    lock_path = directory / "package-lock.json"
    lock = json.loads(lock_path.read_text().replace("REG/", registry.url))
    for name, entry in lock["dependencies"].items():
        with urllib.request.urlopen(f"{registry.url}{name}", timeout=30) as response:
            entry["integrity"] = json.load(response)["versions"][entry["version"]]["dist"][
                "integrity"
            ]
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    return directory


def test_offline_ci_of_a_v1_lockfile_with_bundled_platform_package_matches_npm(
    npm_env: NpmEnv, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    twin_npm = NpmEnv(tmp_path / "npm-world", registry=npm_env.registry)
    by_npm = _project(tmp_path / "by-npm", verdaccio)
    by_ipnpm = _project(tmp_path / "by-ipnpm", verdaccio)

    online = twin_npm.run_npm(["ci"], by_npm)
    assert online.returncode == 0, describe(online)
    online = npm_env.run_ipnpm(["ci"], by_ipnpm)
    assert online.returncode == 0, describe(online)
    assert tree_of(by_ipnpm) == tree_of(by_npm)

    with verdaccio.stopped():
        offline_npm = twin_npm.run_npm(["ci", "--offline"], by_npm)
        offline_ipnpm = npm_env.run_ipnpm(["--offline", "ci"], by_ipnpm)
    assert offline_npm.returncode == 0, describe(offline_npm)
    assert offline_ipnpm.returncode == 0, describe(offline_ipnpm)
    assert tree_of(by_ipnpm) == tree_of(by_npm)
    assert "ipnpm-fixture-a@1.0.0" in tree_of(by_ipnpm).packages.values()
    # The platform package's answer offline is its real packument (os, bundled dependencies),
    # kept from the online run, never one made up from the v1 lockfile's few fields.
    sources = {
        event["source"]
        for event in last_run(npm_env.store_dir)
        if event["event"] == "packument" and event["name"] == "ipnpm-fixture-bundler-darwin"
    }
    assert sources == {"cache"}
