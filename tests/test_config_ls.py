"""The early ``npm config ls --json``: collected when the run asks for the same npm, directory
and environment, asked again otherwise, and failing exactly as a late one would (real npm)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ipnpm.errors import ExitCode, NpmConfigError
from ipnpm.npm import config_ls
from ipnpm.npm.config import read_npm_config
from ipnpm.npm.config_ls import config_env
from tests.support.npm_env import clean_environ
from tests.support.recording_node import recording_node


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


@pytest.fixture
def wrapped_npm(tmp_path: Path, npm: str) -> str:
    """The real npm behind a shell script: not an ``npm-cli.js``, so npm itself is asked."""
    wrapper = tmp_path / "wrapped" / "npm"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {npm} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.parametrize("early", [True, False])
def test_npm_failure_is_the_same_error_early_or_late(
    tmp_path: Path, wrapped_npm: str, early: bool
) -> None:
    env = {**_env(tmp_path, "http://127.0.0.1:9/"), "npm_config_loglevel": "bogus"}
    with pytest.raises(NpmConfigError) as raised:
        _read(wrapped_npm, tmp_path, env, early=early)
    assert raised.value.message.startswith("`npm config ls` failed: ")
    assert raised.value.hint == "fix the npmrc file npm complains about, then run ipnpm again"
    assert raised.value.exit_code == ExitCode.CONFIG


# Configurations on which npm's own loader, run by config_ls.js, must give exactly what
# `npm config ls --json` gives: (user npmrc lines, project npmrc lines, environment).
_CONFIGURATIONS = {
    "defaults": ([], [], {}),
    "scoped registries and credentials": (
        [
            "@acme:registry=http://127.0.0.1:9/acme/",
            "//127.0.0.1:9/acme/:_authToken=ipnpm-secret-token",
            "//127.0.0.1:9/:_auth=aXBucG06c2VjcmV0",
            "email=someone@example.invalid",
            "_password=ipnpm-secret-password",
        ],
        [],
        {},
    ),
    "expanded variables, a scope without its @": (
        ["registry=${IPNPM_TEST_REGISTRY}/r/", "scope=acme"],
        [],
        {"IPNPM_TEST_REGISTRY": "http://127.0.0.1:9"},
    ),
    "a proxy with a password": (["https-proxy=http://user:ipnpm-secret@127.0.0.1:9/"], [], {}),
    "project npmrc over user npmrc, environment over both": (
        ["fetch-retries=3", "cafile=/nonexistent/ca.pem", "strict-ssl=false"],
        ["fetch-retries=5", "@acme:registry=http://127.0.0.1:9/project/"],
        {"npm_config_fetch_retries": "7", "NPM_CONFIG_NOPROXY": "127.0.0.1"},
    ),
}


@pytest.mark.parametrize("configuration", sorted(_CONFIGURATIONS))
def test_npms_own_loader_lists_what_npm_config_ls_lists(
    tmp_path: Path, npm: str, configuration: str
) -> None:
    user, project, extra = _CONFIGURATIONS[configuration]
    env = {**_env(tmp_path, "http://127.0.0.1:9/"), **extra}
    del env["npm_config_registry"]
    (tmp_path / "home" / ".npmrc").write_text("".join(f"{line}\n" for line in user))
    cwd = tmp_path / "project"
    (cwd / "sub").mkdir(parents=True)
    (cwd / "package.json").write_text('{"name": "p", "version": "1.0.0"}')
    (cwd / ".npmrc").write_text("".join(f"{line}\n" for line in project))

    loaded = config_ls._ConfigLs(npm, cwd / "sub", env)
    assert loaded.loader is not None, "npm 11 from npm-cli.js: the loader must be used"
    listed = config_ls._ConfigLs(npm, cwd / "sub", env, fast=False)

    values = loaded.values()
    assert values == listed.values()
    assert "ipnpm-secret" not in json.dumps(values)


def test_the_loader_starts_without_node_s_extra_ca_bundle_yet_npm_s_config_expands_it(
    tmp_path: Path, npm: str
) -> None:
    """Node loads NODE_EXTRA_CA_CERTS as it starts (most of a configuration read, for a system
    bundle); the loader opens no connection, so it starts without it, and an npmrc that
    expands ``${NODE_EXTRA_CA_CERTS}`` still reads as npm reads it."""
    bin_dir, seen = recording_node(tmp_path)
    wrapper = bin_dir / "node"
    bundle = tmp_path / "machine-ca.pem"  # need not exist: Node only warns
    env = {
        **_env(tmp_path, "http://127.0.0.1:9/"),
        "PATH": f"{wrapper.parent}:{clean_environ()['PATH']}",
        "NODE_EXTRA_CA_CERTS": str(bundle),
    }
    (tmp_path / "home" / ".npmrc").write_text("cafile=${NODE_EXTRA_CA_CERTS}\n")

    loaded = config_ls._ConfigLs(npm, tmp_path, env)
    assert loaded.loader is not None and loaded.loader[0] == str(wrapper)
    values = loaded.values()
    assert values == config_ls._ConfigLs(npm, tmp_path, env, fast=False).values()
    assert values["cafile"] == str(bundle)
    starts = seen.read_text().splitlines()
    assert [line.split()[0] for line in starts if "config_ls.js" in line] == ["unset"]


def test_an_npm_the_loader_does_not_know_is_asked_itself(tmp_path: Path, npm: str) -> None:
    """An npm-cli.js of another npm major: the loader declines, and npm's own answer (or
    error) is what ipnpm reads."""
    other = tmp_path / "npm10"
    (other / "bin").mkdir(parents=True)
    (other / "package.json").write_text('{"name": "npm", "version": "10.9.0"}')
    real = Path(npm).resolve().parents[1]
    cli = other / "bin" / "npm-cli.js"
    cli.write_text(
        f"#!/usr/bin/env node\nrequire({json.dumps(str(real / 'lib' / 'cli.js'))})(process)\n"
    )
    cli.chmod(0o755)
    env = _env(tmp_path, "http://127.0.0.1:9/other/")
    read = config_ls._ConfigLs(str(cli), tmp_path, env)
    assert read.loader is not None
    assert read.values()["registry"] == "http://127.0.0.1:9/other/"
    with pytest.raises(NpmConfigError) as raised:
        config_ls._ConfigLs(str(cli), tmp_path, {**env, "npm_config_loglevel": "bogus"}).values()
    assert raised.value.message.startswith("`npm config ls` failed: ")


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
