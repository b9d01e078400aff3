"""The test infrastructure itself, proven with plain npm: Verdaccio serves the fixtures, its
request log counts what npm fetched, the private scope needs its token, and a registry
stopped and started again comes back on the same address with the same packages."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.npm_env import NpmEnv, describe, make_project, tree_of
from tests.support.packages import ACME_TOKEN_VARIABLE, BIG_BLOB_SIZE
from tests.support.verdaccio import Verdaccio

A_AND_B_TARBALLS = [
    "/ipnpm-fixture-a/-/ipnpm-fixture-a-1.0.0.tgz",
    "/ipnpm-fixture-b/-/ipnpm-fixture-b-1.1.0.tgz",
]


def _install(npm_env: NpmEnv, project: Path, command: str = "install") -> None:
    result = npm_env.run_npm([command], project)
    assert result.returncode == 0, describe(result)


def test_install_fetches_each_tarball_once(
    npm_env: NpmEnv, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "^1.0.0"})
    mark = verdaccio.mark()

    _install(npm_env, project)

    assert sorted(verdaccio.tarball_gets(since=mark)) == A_AND_B_TARBALLS
    assert tree_of(project).packages == {
        "node_modules/ipnpm-fixture-a": "ipnpm-fixture-a@1.0.0",
        "node_modules/ipnpm-fixture-b": "ipnpm-fixture-b@1.1.0",
    }
    # npm records the upstream's own URLs: the baseline ipnpm's lockfiles must match.
    lock = json.loads((project / "package-lock.json").read_text())
    resolved = lock["packages"]["node_modules/ipnpm-fixture-a"]["resolved"]
    assert resolved == f"{verdaccio.url.rstrip('/')}{A_AND_B_TARBALLS[0]}"


def test_ci_with_a_warm_npm_cache_fetches_no_tarball(
    npm_env: NpmEnv, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    first = make_project(tmp_path / "first", {"ipnpm-fixture-a": "^1.0.0"})
    _install(npm_env, first)
    second = make_project(tmp_path / "second", {"ipnpm-fixture-a": "^1.0.0"})
    (second / "package-lock.json").write_bytes((first / "package-lock.json").read_bytes())
    mark = verdaccio.mark()

    _install(npm_env, second, "ci")

    assert verdaccio.tarball_gets(since=mark) == []
    assert tree_of(second) == tree_of(first)


def test_bin_big_and_public_scoped_packages_install(
    npm_env: NpmEnv, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    dependencies = {"ipnpm-fixture-c": "2.0.0", "ipnpm-fixture-big": "1.0.0", "@pub/scoped": "1"}
    project = make_project(tmp_path / "project", dependencies)
    mark = verdaccio.mark()

    _install(npm_env, project)

    assert "/@pub/scoped/-/scoped-1.0.0.tgz" in verdaccio.tarball_gets(since=mark)
    blob = project / "node_modules" / "ipnpm-fixture-big" / "blob.bin"
    assert blob.stat().st_size == BIG_BLOB_SIZE
    result = npm_env.run_npm(["exec", "--", "ipnpm-fixture-c"], project)
    assert result.stdout.strip() == (
        "ipnpm-fixture-c@2.0.0 -> ipnpm-fixture-a@1.0.0 -> ipnpm-fixture-b@1.1.0"
    ), describe(result)


def test_big_fixture_tarball_is_over_one_mebibyte(verdaccio: Verdaccio) -> None:
    with urllib.request.urlopen(f"{verdaccio.url}ipnpm-fixture-big") as response:
        tarball_url = json.load(response)["versions"]["1.0.0"]["dist"]["tarball"]
    with urllib.request.urlopen(tarball_url) as response:
        assert len(response.read()) > 1024 * 1024


def test_private_scope_installs_with_the_token(
    npm_env: NpmEnv, verdaccio: Verdaccio, private_verdaccio: Verdaccio, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", {"@acme/secret": "^1.0.0"})
    public_mark, private_mark = verdaccio.mark(), private_verdaccio.mark()

    _install(npm_env, project)

    assert private_verdaccio.tarball_gets(since=private_mark) == [
        "/@acme/secret/-/secret-1.0.0.tgz"
    ]
    assert verdaccio.tarball_gets(since=public_mark) == [A_AND_B_TARBALLS[1]]
    assert "${" + ACME_TOKEN_VARIABLE + "}" in npm_env.npmrc.read_text()


@pytest.mark.parametrize("token", ["", "not-a-valid-token", None], ids=["empty", "wrong", "unset"])
def test_private_scope_fails_without_a_valid_token(
    npm_env: NpmEnv, private_verdaccio: Verdaccio, tmp_path: Path, token: str | None
) -> None:
    # Same npmrc (still saying ${ACME_TOKEN}), but the variable is blank, wrong or missing.
    scopes = [dataclasses.replace(scope, token=token) for scope in npm_env.scopes]
    without_token = dataclasses.replace(npm_env, scopes=scopes)
    project = make_project(tmp_path / "project", {"@acme/secret": "^1.0.0"})
    mark = private_verdaccio.mark()

    result = without_token.run_npm(["install"], project)

    assert result.returncode != 0, describe(result)
    assert "E401" in result.stderr, describe(result)
    assert {r.status for r in private_verdaccio.requests(since=mark)} == {401}


def test_anonymous_read_of_the_private_scope_is_refused(private_verdaccio: Verdaccio) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{private_verdaccio.url}@acme%2fsecret")
    assert refused.value.code == 401


def test_restart_keeps_port_and_storage(verdaccio: Verdaccio) -> None:
    url = verdaccio.url
    with verdaccio.stopped(), pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}ipnpm-fixture-a", timeout=5)
    assert verdaccio.url == url
    with urllib.request.urlopen(f"{url}ipnpm-fixture-a", timeout=5) as response:
        assert "1.0.0" in json.load(response)["versions"]
