"""Acceptance (prefetch, real world): for each real-world project, `ipnpm ipfs fetch` with a Kubo
source fills the store; then, Kubo and the upstream both stopped, `ipnpm --offline ci` installs
the project from the store alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.corpus import (
    CORPUS_PROJECTS,
    CORPUS_TIMEOUT,
    check_tree,
    corpus_project,
    expected_tree,
)
from tests.support.kubo import kubo_node
from tests.support.npm_env import NpmEnv, describe
from tests.support.runlog import obtained
from tests.support.verdaccio import Verdaccio

NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]


@pytest.mark.timeout(CORPUS_TIMEOUT)
@pytest.mark.parametrize("name", CORPUS_PROJECTS)
def test_fetch_from_kubo_then_offline_ci(
    name: str, tmp_path: Path, corpus_registry: Verdaccio
) -> None:
    npm_env = NpmEnv(tmp_path / "env", registry=corpus_registry.url)
    project = corpus_project(name, tmp_path / name, corpus_registry.url.rstrip("/"))
    with kubo_node(tmp_path / "kubo") as kubo:
        # A machine that installed the project once, with Kubo: the tarballs are seeded into
        # Kubo and ipnpm-lock.json records their CIDs.
        seeded = npm_env.run_ipnpm(["--ipnpm-kubo", kubo.api_url, "install", *NPM_FLAGS], project)
        assert seeded.returncode == 0, describe(seeded)
        cids = json.loads((project / "ipnpm-lock.json").read_text())["tarballs"]
        shutil.rmtree(project / "node_modules")
        shutil.rmtree(npm_env.store_dir)
        shutil.rmtree(npm_env.cache_dir)

        with corpus_registry.stopped():
            fetched = npm_env.run_ipnpm(
                ["--ipnpm-kubo", kubo.api_url, "ipfs", "fetch", "--json"], project
            )
        assert fetched.returncode == 0, describe(fetched)
        totals = json.loads(fetched.stdout)
        assert totals["sources"] == {"kubo": totals["packages"]}
        assert totals["packages"] >= len(cids) * 0.9

    with corpus_registry.stopped():
        offline = npm_env.run_ipnpm(["--ipnpm-kubo", "off", "--offline", "ci", *NPM_FLAGS], project)
    assert offline.returncode == 0, describe(offline)
    tree = check_tree(name, project)
    assert tree.missing == ()
    assert tree.version_mismatch == ()
    assert (tree.installed, tree.optional_skipped) == expected_tree(name)
    assert set(obtained(npm_env.store_dir).values()) == {"store"}
