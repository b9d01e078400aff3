"""npm processes started below an ipnpm run (through /bin/sh, which is dash here) reach the
same run's proxy and are served like their parent; `ipnpx` is to npx what ipnpm is to npm."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import last_run, served_events


def _packuments(store: Path) -> set[str]:
    return {e["name"] for e in last_run(store) if e["event"] == "packument" and e["status"] == 200}


def test_sh_c_child_npm_is_served_by_the_same_proxy(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {})
    result = npm_env.run_ipnpm(["exec", "-c", "npm view ipnpm-fixture-b version"], project)
    assert result.returncode == 0, describe(result)
    assert result.stdout == "1.1.0\n"
    # The child's packument request is in this run's log: it went through this run's proxy.
    assert "ipnpm-fixture-b" in _packuments(npm_env.store_dir)


def test_postinstall_running_npm_install_is_served_and_verified(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "p", {"ipnpm-fixture-postinstall-npm": "1.0.0"})
    result = npm_env.run_ipnpm(["install"], project)
    assert result.returncode == 0, describe(result)
    sub = project / "node_modules" / "ipnpm-fixture-postinstall-npm" / "sub"
    assert (sub / "package-lock.json").is_file(), describe(result)
    served = {event["spec"].rsplit("@", 1)[0] for event in served_events(npm_env.store_dir)}
    child_deps = set(json.loads((sub / "package.json").read_text()).get("dependencies", {}))
    assert child_deps and child_deps <= served  # the child's tarballs came through the proxy


def test_the_run_userconfig_is_private_and_carries_the_users_settings(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    probe = tmp_path / "probe.json"
    script = (
        "node -e \"const fs=require('fs'),p=process.env.npm_config_userconfig;"
        f"fs.writeFileSync('{probe}',JSON.stringify({{p,"
        "file:fs.statSync(p).mode&0o777,dir:fs.statSync(require('path').dirname(p)).mode&0o777,"
        "text:fs.readFileSync(p,'utf8')}))\""
    )
    manifest = json.loads((project / "package.json").read_text())
    manifest["scripts"] = {"postinstall": script}
    (project / "package.json").write_text(json.dumps(manifest))
    result = npm_env.run_ipnpm(["install"], project)
    assert result.returncode == 0, describe(result)
    seen = json.loads(probe.read_text())
    assert (seen["file"], seen["dir"]) == (0o600, 0o700)
    # The user's own npmrc comes first (their settings and credentials stay in force) ...
    assert seen["text"].startswith(npm_env.npmrc.read_text())
    # ... and the file is gone with the run.
    assert not Path(seen["p"]).exists()
    assert not os.path.exists(os.path.dirname(seen["p"]))


def test_initializer_running_npm_install(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = tmp_path / "new"
    project.mkdir()
    result = npm_env.run_ipnpm(["init", "ipnpm-fixture-xyz", "-y"], project)
    assert result.returncode == 0, describe(result)
    assert (project / "package-lock.json").is_file(), describe(result)
    assert "ipnpm-fixture-b" in json.loads((project / "package.json").read_text())["dependencies"]


def test_ipnpx_runs_a_bin_through_the_proxy_verified_and_stored(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    env = npm_env.env()
    result = npm_env._run(
        [
            str(Path(env["PYTHONPATH"].split(os.pathsep)[0]) / "bin" / "ipnpx"),
            "-y",
            "ipnpm-fixture-c",
        ],
        tmp_path,
        None,
    )
    assert result.returncode == 0, describe(result)
    assert result.stdout.startswith("ipnpm-fixture-c@2.0.0 -> ipnpm-fixture-a@1.0.0"), describe(
        result
    )
    served = {event["spec"] for event in served_events(npm_env.store_dir)}
    assert "ipnpm-fixture-c@2.0.0" in served
    assert all(event["verified"] for event in served_events(npm_env.store_dir))
    assert any((npm_env.store_dir / "objects").rglob("baf*"))  # kept for the next run
