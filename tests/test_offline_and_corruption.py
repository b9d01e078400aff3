"""Acceptance: offline installs from the store alone; corrupt objects are never served."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import installed_specs, last_run, obtained, tarball_events
from tests.support.verdaccio import Verdaccio

DEPS = {"ipnpm-fixture-c": "^2.0.0", "ipnpm-fixture-big": "1.0.0"}


def _wipe(npm_env: NpmEnv, project: Path) -> None:
    shutil.rmtree(project / "node_modules", ignore_errors=True)
    shutil.rmtree(npm_env.cache_dir, ignore_errors=True)


def _installed_online(npm_env: NpmEnv, project: Path, *npm_flags: str) -> None:
    make_project(project, DEPS)
    result = npm_env.run_ipnpm(["install", *npm_flags], project)
    assert result.returncode == 0, describe(result)


@pytest.mark.parametrize("with_resolved", [True, False], ids=["resolved", "no-resolved"])
def test_offline_ci_from_the_store_alone(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio, with_resolved: bool
) -> None:
    project = tmp_path / "project"
    flags = [] if with_resolved else ["--omit-lockfile-registry-resolved"]
    _installed_online(npm_env, project, *flags)
    lock = (project / "package-lock.json").read_text()
    assert ("resolved" in lock) is with_resolved
    expected = installed_specs(project)
    _wipe(npm_env, project)

    with verdaccio.stopped():
        result = npm_env.run_ipnpm(["--offline", "ci"], project)

    assert result.returncode == 0, describe(result)
    assert installed_specs(project) == expected
    assert set(obtained(npm_env.store_dir).values()) == {"store"}


def test_offline_names_every_missing_package(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = tmp_path / "project"
    _installed_online(npm_env, project)
    specs = installed_specs(project)
    _wipe(npm_env, project)
    shutil.rmtree(npm_env.store_dir)

    result = npm_env.run_ipnpm(["--offline", "ci"], project, env={"IPNPM_OFFLINE": "1"})

    assert result.returncode == 6, describe(result)
    for spec in specs:
        assert spec in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "node_modules").exists()


def _corrupt_one(npm_env: NpmEnv, spec: str) -> Path:
    event = next(e for e in tarball_events(npm_env.store_dir) if e["spec"] == spec)
    objects = list((npm_env.store_dir / "objects").glob(f"*/{event['cid']}"))
    assert len(objects) == 1
    data = bytearray(objects[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    objects[0].write_bytes(bytes(data))
    return objects[0]


def test_a_flipped_byte_is_never_served(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    project = tmp_path / "project"
    _installed_online(npm_env, project)
    _wipe(npm_env, project)
    _corrupt_one(npm_env, "ipnpm-fixture-b@1.1.0")

    verify = npm_env.run_ipnpm(["ipfs", "store", "verify"], project)
    assert verify.returncode == 7, describe(verify)
    assert "1 bad" in verify.stdout
    assert len(list((npm_env.store_dir / "quarantine").iterdir())) == 1

    _corrupt_one_again = npm_env.run_ipnpm(["ci"], project)  # online: refetched, verified
    assert _corrupt_one_again.returncode == 0, describe(_corrupt_one_again)
    sources = obtained(npm_env.store_dir)
    assert sources["ipnpm-fixture-b@1.1.0"] == "upstream"
    assert sources["ipnpm-fixture-a@1.0.0"] == "store"
    assert npm_env.run_ipnpm(["ipfs", "store", "verify"], project).returncode == 0

    # Corrupt again, and this time nobody ran `store verify`: offline, the install must fail
    # clearly rather than serve the bad bytes.
    _wipe(npm_env, project)
    _corrupt_one(npm_env, "ipnpm-fixture-b@1.1.0")
    with verdaccio.stopped():
        offline = npm_env.run_ipnpm(["--offline", "ci"], project)
    assert offline.returncode != 0, describe(offline)
    assert "ipnpm-fixture-b@1.1.0" in offline.stderr
    assert not (project / "node_modules" / "ipnpm-fixture-b").exists()
    events = last_run(npm_env.store_dir)
    assert any(e["event"] == "corrupt" and e["spec"] == "ipnpm-fixture-b@1.1.0" for e in events)
