"""Concurrency: four ``ipnpm ci`` runs at once on one store, with overlapping packages.

Every run succeeds with the same tree plain npm installs, the store verifies clean, no partial
file is left, and the upstream serves each tarball at most once per project that needs it
(ipnpm has no cross-process single flight, so that is the bound; within a run it is once).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.npm_env import NpmEnv, Tree, describe, make_project, tree_of
from tests.support.verdaccio import Verdaccio

RUN_TIMEOUT = 180.0
# Overlapping projects; every one has the > 1 MiB tarball (two UnixFS chunks).
PROJECTS: Mapping[str, Mapping[str, str]] = {
    "c-and-big": {"ipnpm-fixture-c": "2.0.0", "ipnpm-fixture-big": "1.0.0"},
    "a-and-big": {"ipnpm-fixture-a": "1.0.0", "ipnpm-fixture-big": "1.0.0"},
    "old-b-and-big": {"ipnpm-fixture-b": "1.0.0", "ipnpm-fixture-big": "1.0.0"},
    "scoped-c-and-big": {
        "@pub/scoped": "1.0.0",
        "ipnpm-fixture-c": "2.0.0",
        "ipnpm-fixture-big": "1.0.0",
    },
}


@dataclass(frozen=True)
class Project:
    name: str
    directory: Path
    env: NpmEnv
    reference: Tree  # what plain npm ci installs
    tarballs: frozenset[str]  # the lockfile's tarball paths


def _tarball_paths(reference: Tree) -> frozenset[str]:
    paths = set()
    for spec in reference.packages.values():
        name, _, version = spec.rpartition("@")
        paths.add(f"/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz")
    return frozenset(paths)


def _prepare(root: Path, name: str, dependencies: Mapping[str, str], registry: str) -> Project:
    env = NpmEnv(root / f"{name}-env", registry=registry)
    directory = make_project(root / name, dependencies, name=name)
    for args in (["install", "--package-lock-only"], ["ci"]):
        result = env.run_npm(args, directory)
        assert result.returncode == 0, describe(result)
    reference = tree_of(directory)
    return Project(name, directory, env, reference, _tarball_paths(reference))


def _reset(project: Project) -> None:
    shutil.rmtree(project.directory / "node_modules")
    shutil.rmtree(project.env.cache_dir)
    project.env.cache_dir.mkdir()


def test_four_concurrent_ci_runs_share_one_store(tmp_path: Path, verdaccio: Verdaccio) -> None:
    projects = [_prepare(tmp_path, name, deps, verdaccio.url) for name, deps in PROJECTS.items()]
    for project in projects:
        _reset(project)
    store = tmp_path / "shared-store"
    mark = verdaccio.mark()
    began = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ipnpm", "ci"],
            cwd=project.directory,
            env=project.env.env(IPNPM_STORE=str(store)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for project in projects
    ]
    outputs = [process.communicate(timeout=RUN_TIMEOUT)[0] for process in processes]
    took = time.monotonic() - began
    for project, process, output in zip(projects, processes, outputs, strict=True):
        assert process.returncode == 0, f"{project.name} exit {process.returncode}:\n{output}"
        assert tree_of(project.directory) == project.reference, project.name

    served = Counter(path.split("?")[0] for path in verdaccio.tarball_gets(since=mark))
    needed = Counter(path for project in projects for path in project.tarballs)
    assert set(served) <= set(needed), served
    too_often = {path: n for path, n in served.items() if n > min(needed[path], 4)}
    assert not too_often, f"served more often than projects need them: {too_often}"

    verify = projects[0].env.run_ipnpm(
        ["ipfs", "store", "verify"], projects[0].directory, env={"IPNPM_STORE": str(store)}
    )
    assert verify.returncode == 0, describe(verify)
    assert ", 0 bad," in verify.stdout, describe(verify)
    assert list((store / "tmp").glob("*.partial")) == []
    print(f"4 concurrent ci runs: {took:.1f} s; upstream tarball GETs: {dict(served)}")
