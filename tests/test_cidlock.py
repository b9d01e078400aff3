"""ipnpm-lock.json: written by install, stable and sorted, read (never written) by ci."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import installed_specs

DEPS = {"ipnpm-fixture-c": "^2.0.0", "@pub/scoped": "1.0.0"}


def test_no_ipfs_source_no_cidlock_unless_asked(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", DEPS)
    assert npm_env.run_ipnpm(["install"], project).returncode == 0
    assert not (project / "ipnpm-lock.json").exists()  # nothing uses CIDs: no surprise file
    asked = npm_env.run_ipnpm(["install"], project, env={"IPNPM_CIDLOCK": "yes"})
    assert asked.returncode == 0, describe(asked)
    assert (project / "ipnpm-lock.json").is_file()
    # Once a project has one, it is kept up to date without being asked again.
    added = npm_env.run_ipnpm(["install", "ipnpm-fixture-big"], project)
    assert added.returncode == 0, describe(added)
    assert "ipnpm-fixture-big@1.0.0" in (project / "ipnpm-lock.json").read_text()


def test_install_writes_a_stable_sorted_cidlock(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", DEPS)
    (project / "ipnpm-lock.json").write_text('{"cidProfile": "unixfs-v1-2025", "tarballs": {}}')
    assert npm_env.run_ipnpm(["install"], project).returncode == 0
    path = project / "ipnpm-lock.json"
    first = path.read_bytes()
    document = json.loads(first)
    specs = [entry["spec"] for entry in document["tarballs"].values()]
    assert specs == sorted(specs)
    assert set(specs) == installed_specs(project)
    lock = json.loads((project / "package-lock.json").read_text())
    integrities = {e["integrity"] for k, e in lock["packages"].items() if k}
    assert set(document["tarballs"]) == integrities

    # A second install changes nothing; adding a dependency adds exactly its entries.
    assert npm_env.run_ipnpm(["install"], project).returncode == 0
    assert path.read_bytes() == first
    added = npm_env.run_ipnpm(["install", "ipnpm-fixture-big"], project)
    assert added.returncode == 0, describe(added)
    after = json.loads(path.read_text())["tarballs"]
    assert {e["spec"] for e in after.values()} == set(specs) | {"ipnpm-fixture-big@1.0.0"}


def test_ci_reads_but_never_writes_and_warns_on_gaps(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", DEPS)
    assert npm_env.run_ipnpm(["install"], project, env={"IPNPM_CIDLOCK": "yes"}).returncode == 0
    path = project / "ipnpm-lock.json"
    document = json.loads(path.read_text())
    removed = document["tarballs"].pop(next(iter(document["tarballs"])))
    path.write_text(json.dumps(document, indent=2) + "\n")
    before = path.read_bytes()

    result = npm_env.run_ipnpm(["ci"], project)

    assert result.returncode == 0, describe(result)
    assert path.read_bytes() == before
    assert "ipnpm-lock.json has no CID for 1 locked package(s)" in result.stderr
    assert removed["spec"] in result.stderr


def test_a_broken_cidlock_is_a_clear_error(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", DEPS)
    (project / "ipnpm-lock.json").write_text("{not json")
    result = npm_env.run_ipnpm(["ci"], project)
    assert result.returncode == 8, describe(result)
    assert "ipnpm-lock.json" in result.stderr
    assert "hint: delete" in result.stderr
    assert (project / "ipnpm-lock.json").read_text() == "{not json"
