"""Acceptance: bad input gets a clear message and a documented exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.npm_env import NpmEnv, describe, make_project

REPO = Path(__file__).resolve().parents[1]


def _clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, describe(result)


def test_unknown_ipnpm_option(npm_env: NpmEnv, tmp_path: Path) -> None:
    result = npm_env.run_ipnpm(["--ipnpm-frobnicate", "install"], tmp_path)
    assert result.returncode == 2
    assert "--ipnpm-frobnicate" in result.stderr and "hint:" in result.stderr
    _clean(result)


def test_npm_not_found(npm_env: NpmEnv, tmp_path: Path) -> None:
    result = npm_env.run_ipnpm(["ci"], tmp_path, env={"IPNPM_NPM": str(tmp_path / "no-npm")})
    assert result.returncode == 3
    assert "npm not found" in result.stderr and "--ipnpm-npm" in result.stderr
    _clean(result)
    on_path = npm_env.run_ipnpm(["ci"], tmp_path, env={"PATH": str(tmp_path)})
    assert on_path.returncode == 3, describe(on_path)
    _clean(on_path)


def test_unusable_store(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store should be")
    result = npm_env.run_ipnpm(["--ipnpm-store", str(blocker), "install"], project)
    assert result.returncode == 5
    assert str(blocker) in result.stderr and "--ipnpm-store" in result.stderr
    assert blocker.read_text() == "a file where the store should be"
    _clean(result)


def test_malformed_lockfile_gets_npms_own_error(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    (project / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {')
    plain = npm_env.run_npm(["ci"], project)
    result = npm_env.run_ipnpm(["ci"], project)
    assert result.returncode == plain.returncode != 0
    assert "npm error" in result.stderr
    assert (project / "package-lock.json").read_text() == '{"lockfileVersion": 3, "packages": {'
    _clean(result)


def test_bad_boolean_in_environment(npm_env: NpmEnv, tmp_path: Path) -> None:
    result = npm_env.run_ipnpm(["ci"], tmp_path, env={"IPNPM_OFFLINE": "maybe"})
    assert result.returncode == 2
    assert "IPNPM_OFFLINE" in result.stderr
    _clean(result)


def test_version_and_launcher(npm_env: NpmEnv, tmp_path: Path) -> None:
    from ipnpm import __version__

    npm_version = npm_env.run_npm(["--version"], tmp_path).stdout
    for launcher in ([sys.executable, "-m", "ipnpm"], [str(REPO / "bin" / "ipnpm")]):
        # `--version` is npm's (alias npm=ipnpm); ipnpm's own is under `ipnpm ipfs`.
        for args, expected in ((["--version"], npm_version), (["ipfs", "--version"], None)):
            result = subprocess.run(
                [*launcher, *args],
                capture_output=True,
                text=True,
                check=False,
                env=npm_env.env(),
                cwd=tmp_path,
            )
            assert result.returncode == 0, describe(result)
            assert result.stdout == (expected or f"ipnpm {__version__}\n")
