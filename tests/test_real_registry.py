"""The README demo against the registry this machine's npm is configured for, for real.

Only the machine's own npm configuration applies (its global npmrc, NODE_EXTRA_CA_CERTS, any
proxy variables): no test npmrc, no npmrc in the fresh HOME. This is what proves ipnpm reaches
the real registry exactly the way npm does (TLS settings included). An unreachable registry
fails the test with ipnpm's reason; it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.npm_env import REPO_ROOT, describe

pytestmark = [pytest.mark.network, pytest.mark.timeout(600)]


def _machine_env(root: Path) -> dict[str, str]:
    # The machine's environment minus npm_config_* (a developer's or CI's overrides); HOME
    # and the caches live in the temporary directory, so nothing of a user's npmrc applies.
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    python_path = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    return env | {
        "HOME": str(root / "home"),
        "XDG_CONFIG_HOME": str(root / "home" / ".config"),
        "XDG_CACHE_HOME": str(root / "home" / ".cache"),
        "IPNPM_STORE": str(root / "store"),
        "PYTHONPATH": os.pathsep.join(python_path),
    }


def _ipnpm(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ipnpm", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_readme_demo_against_the_configured_registry(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    project = tmp_path / "demo"
    project.mkdir()
    env = _machine_env(tmp_path)

    init = _ipnpm(["init", "-y"], project, env)
    assert init.returncode == 0, describe(init)
    install = _ipnpm(["install", "is-number"], project, env)
    assert install.returncode == 0, describe(install)
    assert (project / "node_modules" / "is-number" / "package.json").is_file()

    # Offline, from a new npm cache: only ipnpm's store can give the tarball back.
    shutil.rmtree(project / "node_modules")
    offline_env = env | {"npm_config_cache": str(tmp_path / "fresh-npm-cache")}
    ci = _ipnpm(["--offline", "ci"], project, offline_env)
    assert ci.returncode == 0, describe(ci)
    assert (project / "node_modules" / "is-number" / "package.json").is_file(), describe(ci)
