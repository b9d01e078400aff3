from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipnpm.errors import UsageError
from ipnpm.index import IndexRef
from ipnpm.settings import resolve


def _world(
    tmp_path: Path, project: dict[str, object] | None, user: dict[str, object] | None
) -> tuple[Path, dict[str, str]]:
    project_dir = tmp_path / "project"
    (project_dir / "sub").mkdir(parents=True)
    manifest: dict[str, object] = {"name": "p", "version": "1.0.0"}
    if project is not None:
        manifest["ipnpm"] = project
    (project_dir / "package.json").write_text(json.dumps(manifest))
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    if user is not None:
        (tmp_path / "xdg" / "ipnpm").mkdir(parents=True)
        (tmp_path / "xdg" / "ipnpm" / "config.json").write_text(json.dumps(user))
    return project_dir / "sub", env


def test_precedence_cli_env_project_user_default(tmp_path: Path) -> None:
    cwd, env = _world(
        tmp_path,
        project={
            "gateways": ["http://project:1"],
            "indexes": [{"name": "k51p", "scopes": ["@acme"]}],
        },
        user={"gateways": ["http://user:1"], "jobs": 5, "kubo": "off"},
    )
    settings = resolve(env=env, cwd=cwd)
    assert settings.gateways == ("http://project:1",)
    assert settings.origins["gateways"].startswith("project (")
    assert settings.indexes == (IndexRef("k51p", ("@acme",)),)
    assert settings.jobs == 5
    assert settings.kubo == "off"
    assert settings.origins["jobs"].startswith("user (")
    assert settings.seed is True
    assert settings.origins["seed"] == "default"

    env["IPNPM_GATEWAYS"] = "http://env:1,http://env:2"
    assert resolve(env=env, cwd=cwd).gateways == ("http://env:1", "http://env:2")
    assert resolve(env=env, cwd=cwd, gateways=("http://cli:1",)).gateways == ("http://cli:1",)


def test_index_forms() -> None:
    settings = resolve(env={}, indexes=("@acme+@corp=k51a", "k51b"))
    assert settings.indexes == (IndexRef("k51a", ("@acme", "@corp")), IndexRef("k51b"))
    assert str(settings.indexes[0]) == "@acme+@corp=k51a"
    with pytest.raises(UsageError, match="not an index"):
        resolve(env={}, indexes=("acme=k51a",))


def test_unknown_keys_warn_and_bad_files_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cwd, env = _world(tmp_path, project={"gatewys": []}, user=None)
    resolve(env=env, cwd=cwd)
    assert "unknown key 'gatewys'" in capsys.readouterr().err
    cwd, env = _world(tmp_path / "b", project=None, user=None)
    (tmp_path / "b" / "xdg" / "ipnpm").mkdir(parents=True)
    (tmp_path / "b" / "xdg" / "ipnpm" / "config.json").write_text("{broken")
    with pytest.raises(UsageError, match=r"config\.json"):
        resolve(env=env, cwd=cwd)
    cwd, env = _world(tmp_path / "c", project={"jobs": "many"}, user=None)
    with pytest.raises(UsageError, match="jobs in"):
        resolve(env=env, cwd=cwd)


def test_a_project_file_names_no_destination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request's package.json must not choose a Kubo (seeding uploads private
    tarballs to it), a store or the seeding policy: ignored with a warning naming the file."""
    sinks = {"kubo": "http://127.0.0.1:9", "store": "/tmp/x", "seed": True, "seed_private": 1}
    cwd, env = _world(tmp_path, project={**sinks, "gateways": ["http://g:1"]}, user=None)
    settings = resolve(env=env, cwd=cwd)
    err = capsys.readouterr().err
    for key in sinks:
        assert f"ignoring {key!r}" in err
        assert settings.origins[key] == "default"
    assert str(tmp_path / "project" / "package.json") in err
    assert settings.kubo == "auto" and settings.seed_private == ()
    assert settings.gateways == ("http://g:1",)  # a read-only, verified source: allowed
    # The user's own file may set them.
    cwd, env = _world(tmp_path / "u", project=None, user=sinks)
    settings = resolve(env=env, cwd=cwd)
    assert settings.kubo == "http://127.0.0.1:9" and settings.seed_private == ("*",)
    assert "ignoring" not in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://[::1", "http://", "http://127.0.0.1:99999", "ftp://h"])
def test_malformed_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError, match="not an http"):
        resolve(env={"IPNPM_KUBO_API": url})


def test_seed_private_forms() -> None:
    assert resolve(env={"IPNPM_SEED_PRIVATE": "@acme,@corp"}).seed_private == ("@acme", "@corp")
    assert resolve(env={"IPNPM_SEED_PRIVATE": "yes"}).seed_private == ("*",)
    assert resolve(env={"IPNPM_SEED_PRIVATE": "0"}).seed_private == ()
    with pytest.raises(UsageError, match="not a list of scopes"):
        resolve(env={"IPNPM_SEED_PRIVATE": "acme"})
