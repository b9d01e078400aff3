"""The early ``npm config ls --json``: collected when the run asks for the same npm, directory
and environment, asked again otherwise, and failing exactly as a late one would (real npm)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipnpm.errors import ExitCode, NpmConfigError
from ipnpm.npm import config_ls
from ipnpm.npm.config import config_env, read_npm_config
from tests.support.npm_env import clean_environ


@pytest.fixture
def npm() -> str:
    found = shutil.which("npm")
    assert found is not None, "these tests drive the real npm"
    return found


def _read(npm: str, cwd: Path, env: dict[str, str], *, early: bool) -> None:
    """Read npm's configuration, the read started early (as ``ipnpm <command>`` does) or not."""
    if not early:
        read_npm_config(npm, cwd, env)
        return
    with config_ls.started_config_ls(npm, cwd, env):
        read_npm_config(npm, cwd, env)


def _env(tmp_path: Path, registry: str) -> dict[str, str]:
    (tmp_path / "home").mkdir(exist_ok=True)
    return {**clean_environ(), "HOME": str(tmp_path / "home"), "npm_config_registry": registry}


def test_started_read_is_the_one_collected(tmp_path: Path, npm: str) -> None:
    env = _env(tmp_path, "http://127.0.0.1:9/early/")
    with config_ls.started_config_ls(npm, tmp_path, env):
        (started,) = config_ls._started.values()
        config = read_npm_config(npm, tmp_path, env)
        assert config_ls._started == {}  # collected, not run twice
    assert config.registry == "http://127.0.0.1:9/early/"
    assert started._process is not None and started._process.returncode == 0


def test_other_environment_asks_npm_again_and_the_unused_read_is_stopped(
    tmp_path: Path, npm: str
) -> None:
    with config_ls.started_config_ls(npm, tmp_path, _env(tmp_path, "http://127.0.0.1:9/a/")):
        (started,) = config_ls._started.values()
        config = read_npm_config(npm, tmp_path, _env(tmp_path, "http://127.0.0.1:9/b/"))
    assert config.registry == "http://127.0.0.1:9/b/"
    assert started._process is not None and started._process.poll() is not None  # reaped
    assert config_ls._started == {}


@pytest.mark.parametrize("early", [True, False])
def test_npm_failure_is_the_same_error_early_or_late(tmp_path: Path, npm: str, early: bool) -> None:
    env = {**_env(tmp_path, "http://127.0.0.1:9/"), "npm_config_loglevel": "bogus"}
    with pytest.raises(NpmConfigError) as raised:
        _read(npm, tmp_path, env, early=early)
    assert raised.value.message.startswith("`npm config ls` failed: ")
    assert raised.value.hint == "fix the npmrc file npm complains about, then run ipnpm again"
    assert raised.value.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize("early", [True, False])
def test_npm_that_cannot_start_is_the_same_error_early_or_late(tmp_path: Path, early: bool) -> None:
    missing, env = str(tmp_path / "no-npm"), _env(tmp_path, "http://127.0.0.1:9/")
    with pytest.raises(NpmConfigError) as raised:
        _read(missing, tmp_path, env, early=early)
    assert raised.value.message.startswith("could not run `npm config ls`: ")
    assert raised.value.hint == "check that npm runs: `npm --version`"


def test_config_env_sets_the_command_lines_userconfig(tmp_path: Path) -> None:
    env = config_env({"NPM_CONFIG_USERCONFIG": "/old", "X": "1"}, tmp_path, "rc")
    assert env == {"X": "1", "npm_config_userconfig": str(tmp_path / "rc")}
    assert config_env({"X": "1"}, tmp_path, None) == {"X": "1"}
