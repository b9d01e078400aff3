"""Acceptance: pass-through commands exec npm (no proxy, no heavy imports); Ctrl-C is clean."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pexpect

from tests.support.npm_env import NpmEnv, describe, make_project

HEAVY = (
    "ipnpm.proxy", "ipnpm.run.assemble", "ipnpm.store.objects", "ipnpm.settings", "requests",
    "http.server", "cryptography", "click", "traceback",
)  # fmt: skip


def _with_scripts(project: Path, scripts: dict[str, str]) -> Path:
    manifest = json.loads((project / "package.json").read_text())
    manifest["scripts"] = scripts
    (project / "package.json").write_text(json.dumps(manifest))
    return project


def test_run_passes_the_exit_code_through_and_starts_no_proxy(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    project = _with_scripts(make_project(tmp_path / "p", {}), {"fail": "exit 7"})
    result = npm_env.run_ipnpm(["run", "fail"], project)
    assert result.returncode == 7, describe(result)
    assert not (npm_env.store_dir / "logs").exists()  # no proxy ran, so no run log


def test_pass_through_imports_nothing_heavy(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = _with_scripts(make_project(tmp_path / "p", {}), {"ok": "exit 0"})
    result = npm_env.run_ipnpm(["run", "ok"], project, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, describe(result)
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "ipnpm.cli.entry" in imported  # the measurement works
    assert not [name for name in HEAVY if name in imported]


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_ctrl_c_during_install_stops_everything_and_exits_130(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    # A root postinstall script keeps npm busy while the proxy is up.
    # ('HOLD' + 'ING' so that npm's echo of the command line does not match.)
    hold = "node -e \"console.log('HOLD' + 'ING'); setTimeout(() => {}, 60000)\""
    project = _with_scripts(
        make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"}), {"postinstall": hold}
    )
    marker = f"IPNPM_TEST_MARKER={uuid.uuid4().hex}"
    env = npm_env.env()
    env[marker.split("=", maxsplit=1)[0]] = marker.split("=")[1]
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ipnpm", "install"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    try:
        child.expect("HOLDING")
        assert _processes_with(marker), "npm and its script should be running now"
        child.sendintr()
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before
    assert _processes_with(marker) == []


def test_an_npm_on_path_that_is_ipnpm_itself_is_skipped(npm_env: NpmEnv, tmp_path: Path) -> None:
    """`alias npm=ipnpm`, or an `npm` wrapper early on PATH, must not make ipnpm run itself."""
    shim = tmp_path / "shim-bin"
    shim.mkdir()
    wrapper = shim / "npm"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ipnpm "$@"\n')
    wrapper.chmod(0o755)
    project = _with_scripts(make_project(tmp_path / "p", {}), {"fail": "exit 7"})
    path = f"{shim}:{npm_env.env()['PATH']}"
    through_wrapper = npm_env.run_npm(["run", "fail"], project, env={"PATH": path})
    assert through_wrapper.returncode == 7, describe(through_wrapper)
    install = npm_env.run_npm(["install", "ipnpm-fixture-a"], project, env={"PATH": path})
    assert install.returncode == 0, describe(install)
    assert "ipnpm: 2 packages" in install.stderr  # ipnpm ran once, and the real npm under it
