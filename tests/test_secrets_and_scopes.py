"""Acceptance: a scoped package behind a token installs; the token shows up nowhere."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.packages import ACME_USER
from tests.support.runlog import tarball_events
from tests.support.verdaccio import Verdaccio


def _cmdlines() -> list[bytes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((entry / "cmdline").read_bytes())
            except OSError:
                continue
    return found


class _ArgvWatcher(threading.Thread):
    """Polls every process's argv (what `ps` shows) while a command runs."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(daemon=True)
        self.secret = secret
        self.leaks: list[bytes] = []
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.leaks += [line for line in _cmdlines() if self.secret in line]
            self.samples += 1
            time.sleep(0.01)


def _files_containing(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_private_scope_installs_and_the_token_never_leaks(
    npm_env: NpmEnv, tmp_path: Path, private_verdaccio: Verdaccio
) -> None:
    token = private_verdaccio.tokens[ACME_USER]
    secret = token.encode()
    project = make_project(tmp_path / "project", {})
    env = npm_env.env(IPNPM_DEBUG="1")
    watcher = _ArgvWatcher(secret)
    watcher.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ipnpm", "install", "@acme/secret"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        watcher.done.set()
        watcher.join()

    assert result.returncode == 0, describe(result)
    assert (project / "node_modules" / "@acme" / "secret" / "package.json").is_file()
    specs = {e["spec"] for e in tarball_events(npm_env.store_dir)}
    assert "@acme/secret@1.0.0" in specs
    assert watcher.samples > 5 and watcher.leaks == []
    assert token not in result.stdout + result.stderr  # --debug logs included
    assert "running:" in result.stderr  # the debug log did print npm's argv
    assert _files_containing(npm_env.store_dir, secret) == []
    assert _files_containing(project, secret) == []


def test_private_scope_without_token_fails_clearly(
    npm_env: NpmEnv, tmp_path: Path, private_verdaccio: Verdaccio
) -> None:
    project = make_project(tmp_path / "project", {})
    env = {"ACME_TOKEN": "wrong-token"}
    result = npm_env.run_ipnpm(["install", "@acme/secret"], project, env=env)
    assert result.returncode != 0
    assert "@acme/secret" in result.stderr
    assert not (project / "node_modules" / "@acme").exists()
    assert "Traceback" not in result.stderr


def test_request_without_the_run_secret_is_refused(npm_env: NpmEnv, tmp_path: Path) -> None:
    """Another local user must not be able to reach the upstream through a run's proxy."""
    project = make_project(tmp_path / "project", {})
    # `npm exec` goes through the proxy. Its child learns the proxy's URL from npm's
    # environment but sends its own request, without the per-run secret.
    probe = (
        "require('http').get(process.env.npm_config_registry+'ipnpm-fixture-a',"
        "r=>{console.log('status',r.statusCode);console.log('proxy',process.env.npm_config_registry);"
        "process.exit(0)})"
    )
    result = npm_env.run_ipnpm(["exec", "--", "node", "-e", probe], project)
    assert result.returncode == 0, describe(result)
    assert "status 401" in result.stdout
    assert "proxy http://127.0.0.1:" in result.stdout
