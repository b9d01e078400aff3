"""npm is the oracle: each row runs through real npm and through ipnpm, in twin directories.

`alias npm=ipnpm` must give exactly what npm gives: exit code, stdout byte for byte (after the
normalisations listed in tests/support/twins.py, and nothing else), package.json, lockfiles
and the installed tree. ipnpm's stderr is not compared. No npm output of the ipnpm twin may
name a loopback port other than the Verdaccios' (that would be ipnpm's proxy leaking out).

A row that fails is a bug in ipnpm, not in the table: rows are never skipped or xfailed.
`test_npm_agrees_with_itself` runs every row through npm in two twins, proving that the
normalisations make a row pass when the behaviour is right.

To add a row: one `Row(...)` line in ROWS; a new project layout is one builder in PROJECTS.
Placeholders in commands, npmrc lines and builders: {registry}, {registry_host}, {prefix},
{unique} (see twins.Places).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.npm_env import ScopedRegistry
from tests.support.packages import ACME_SCOPE, ACME_TOKEN_VARIABLE, ACME_USER
from tests.support.twins import (
    Outcome,
    Places,
    ProjectBuilder,
    Row,
    Tool,
    differences,
    make_twin,
    normalise,
    play,
)
from tests.support.verdaccio import Verdaccio

# -- projects --------------------------------------------------------------------------------


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def _manifest(path: Path, name: str = "diff-project", **fields: Any) -> None:
    _write_json(path / "package.json", {"name": name, "version": "1.0.0", **fields})


def _empty(project: Path, places: Places) -> None:
    """No package.json at all."""


def _bare(project: Path, places: Places) -> None:
    _manifest(project)


def _scripts(project: Path, places: Places) -> None:
    _manifest(project, scripts={"x": "echo x ran in $npm_package_name"})


# What npm hands a lifecycle script that its configuration loader could have leaked (ipnpm's
# npm may be the Node that read the configuration: npm/waiting.py) or that a Node start reads.
_SHOW_ENV = (
    "node -e \"for (const k of ['npm_config_json', 'npm_command', 'npm_lifecycle_event', "
    "'NODE_EXTRA_CA_CERTS']) console.log(k + '=' + process.env[k])\""
)


def _env_script(project: Path, places: Places) -> None:
    _manifest(project, scripts={"postinstall": _SHOW_ENV})


def _packable(project: Path, places: Places) -> None:
    _manifest(project, main="index.js", license="MIT")
    (project / "index.js").write_text("module.exports = 42;\n")


def _deps(project: Path, places: Places) -> None:
    _manifest(project, dependencies={"ipnpm-fixture-c": "^2.0.0", "@pub/scoped": "1.0.0"})


def _deps_with_b(project: Path, places: Places) -> None:
    deps = {"ipnpm-fixture-c": "^2.0.0", "ipnpm-fixture-b": "^1.0.0"}
    _manifest(project, dependencies=deps)


def _old_b(project: Path, places: Places) -> None:
    _manifest(project, dependencies={"ipnpm-fixture-b": "1.0.0"})


def _workspaces(project: Path, places: Places) -> None:
    _manifest(project, private=True, workspaces=["packages/*"])
    packages = project / "packages"
    scripts = {"x": "echo x ran in $npm_package_name"}
    deps_w1 = {"ipnpm-fixture-b": "^1.0.0"}
    _manifest(packages / "w1", "w1", dependencies=deps_w1, scripts=scripts)
    _manifest(packages / "w2", "w2", dependencies={"w1": "^1.0.0", "ipnpm-fixture-c": "^2.0.0"})


def _file_dependency(project: Path, places: Places) -> None:
    _manifest(project, dependencies={"local-dep": "file:./local"})
    _manifest(project / "local", "local-dep", dependencies={"ipnpm-fixture-b": "^1.0.0"})


def _alias(project: Path, places: Places) -> None:
    deps = {"old-b": "npm:ipnpm-fixture-b@1.0.0", "ipnpm-fixture-b": "^1.1.0"}
    _manifest(project, dependencies=deps)


def _overrides(project: Path, places: Places) -> None:
    deps = {"ipnpm-fixture-a": "^1.0.0"}
    _manifest(project, dependencies=deps, overrides={"ipnpm-fixture-b": "1.0.0"})


def _tarball_url(project: Path, places: Places) -> None:
    url = f"{places.registry}ipnpm-fixture-b/-/ipnpm-fixture-b-1.0.0.tgz"
    _manifest(project, dependencies={"ipnpm-fixture-b": url})


def _postinstall_npm(project: Path, places: Places) -> None:
    _manifest(project, dependencies={"ipnpm-fixture-postinstall-npm": "1.0.0"})


def _private_scope(project: Path, places: Places) -> None:
    _manifest(project, dependencies={"@acme/secret": "1.0.0"})


def _publishable(project: Path, places: Places) -> None:
    _manifest(project, places.unique, main="index.js", license="MIT")
    (project / "index.js").write_text("module.exports = 'published';\n")


PROJECTS: dict[str, ProjectBuilder] = {
    "empty": _empty,
    "bare": _bare,
    "scripts": _scripts,
    "packable": _packable,
    "env-script": _env_script,
    "deps": _deps,
    "deps-b": _deps_with_b,
    "old-b": _old_b,
    "workspaces": _workspaces,
    "file-dep": _file_dependency,
    "alias": _alias,
    "overrides": _overrides,
    "tarball-url": _tarball_url,
    "postinstall-npm": _postinstall_npm,
    "private-scope": _private_scope,
    "publishable": _publishable,
}

# -- the table -------------------------------------------------------------------------------

B = "ipnpm-fixture-b"
C = "ipnpm-fixture-c"
LOCK = "install --package-lock-only"
GLOBAL_C = f"-g install {C} --prefix {{prefix}}"
AUTH = "//{registry_host}/:_authToken=diff-publisher"  # npm publishes only with some token
PIN_OLD_B = (f"install {B}@1.0.0 --save-exact", f"pkg set dependencies.{B}=^1.0.0")

# fmt: off
ROWS = [
    # global options before the command
    Row("-v", "-v"),
    Row("--version", "--version"),
    Row("--help", "--help"),
    Row("-l", "-l"),
    Row("-s run x", "-s run x", "scripts"),
    Row("--silent view version", f"--silent view {B} version"),
    Row("--loglevel=silent install", f"--loglevel=silent install {B}", "bare"),
    Row("--json view", f"--json view {B}"),
    Row("--prefix sub install", f"--prefix sub install {B}", "bare"),
    Row("-g ls --prefix", "-g ls --prefix {prefix}", before=(GLOBAL_C,)),
    Row("-g install --prefix", GLOBAL_C),
    Row("-w w1 run x", "-w w1 run x", "workspaces"),
    # commands
    Row("view --json", f"view {B} --json"),
    Row("view version", f"view {B} version"),
    Row("pack --dry-run --json", "pack --dry-run --json", "packable"),
    Row("outdated --json", "outdated --json", "old-b", before=("install",)),
    Row("outdated", "outdated", "old-b", before=("install",)),
    Row("ls --json", "ls --json", "deps", before=("install",)),
    Row("ls", "ls", "deps", before=("install",)),
    Row("install", "install", "deps"),
    Row("--json install, a script's environment", "--json install --foreground-scripts", "env-script"),  # noqa: E501
    Row("-s install, a script's environment", "-s install --foreground-scripts", "env-script"),
    Row("ci", "ci", "deps", before=(LOCK,)),
    Row("ci omit-lockfile-registry-resolved", "ci", "deps", before=(LOCK,), npmrc=("omit-lockfile-registry-resolved=true",)),  # noqa: E501
    Row("install PKG@^1", f"install {B}@^1", "bare"),
    Row("install private scope", "install", "private-scope"),
    Row("update", "update", "deps-b", before=PIN_OLD_B),
    Row("uninstall", "uninstall @pub/scoped", "deps", before=("install",)),
    # child npm processes, started through /bin/sh
    Row("exec -c npm view", f"exec -c 'npm view {B} version'"),
    Row("postinstall runs npm install", "install", "postinstall-npm"),
    Row("init initializer runs npm install", "init ipnpm-fixture-xyz -y"),
    # publishing: both twins publish the same new name, unpublished after each
    Row("publish", "publish", "publishable", npmrc=(AUTH,), after=("unpublish {unique} --force",)),
    # dependency kinds
    Row("install workspaces", "install", "workspaces"),
    Row("install file: dependency", "install", "file-dep"),
    Row("install npm: alias", "install", "alias"),
    Row("install overrides", "install", "overrides"),
    Row("install tarball URL", "install", "tarball-url"),
    # offline, after an online install by the twin's own tool (warm npm cache / ipnpm store)
    Row("ci --offline", "ci --offline", "deps", warm=("install",)),
    Row("ipnpm --offline ci", "ci --offline", "deps", warm=("install",), ipnpm_command="--offline ci"),  # noqa: E501
    Row("ci omit-lockfile-registry-resolved, warm", "ci", "deps", before=(LOCK,), warm=("install",), npmrc=("omit-lockfile-registry-resolved=true",)),  # noqa: E501
    Row("install with loglevel=bogus in npmrc", "install", "deps", npmrc=("loglevel=bogus",)),
]
# fmt: on

# -- the tests -------------------------------------------------------------------------------


def _scopes(private_verdaccio: Verdaccio) -> tuple[ScopedRegistry, ...]:
    token = private_verdaccio.tokens[ACME_USER]
    return (ScopedRegistry(ACME_SCOPE, private_verdaccio.url, ACME_TOKEN_VARIABLE, token),)


def _play_twins(
    tmp_path: Path,
    row: Row,
    sides: tuple[tuple[str, Tool], tuple[str, Tool]],
    verdaccio: Verdaccio,
    private_verdaccio: Verdaccio,
) -> tuple[Outcome, Outcome]:
    unique = f"ipnpm-diff-{uuid.uuid4().hex[:10]}"
    expected, got = (
        play(
            make_twin(
                tmp_path,
                name,
                tool,
                registry=verdaccio.url,
                scopes=_scopes(private_verdaccio),
                unique=unique,
            ),
            row,
            PROJECTS,
        )
        for name, tool in sides
    )
    return expected, got


def _report(row: Row, found: list[str], expected: Outcome, got: Outcome) -> str:
    return (
        f"row {row.id!r} differs:\n\n"
        + "\n\n".join(found)
        + f"\n\n===== expected side, every process:\n{expected.log}"
        + f"\n\n===== got side, every process:\n{got.log}"
    )


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_ipnpm_gives_what_npm_gives(
    row: Row, tmp_path: Path, verdaccio: Verdaccio, private_verdaccio: Verdaccio
) -> None:
    sides: tuple[tuple[str, Tool], tuple[str, Tool]] = (("npm-a", "npm"), ("ipnpm", "ipnpm"))
    expected, got = _play_twins(tmp_path, row, sides, verdaccio, private_verdaccio)

    found = differences(expected, got)
    registries = {verdaccio.port, private_verdaccio.port}
    leaked = sorted(got.loopback_ports - registries)
    if leaked:
        found.append(f"npm output names loopback ports {leaked} (registries: {registries})")
    assert not found, _report(row, found, expected, got)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_npm_agrees_with_itself(
    row: Row, tmp_path: Path, verdaccio: Verdaccio, private_verdaccio: Verdaccio
) -> None:
    sides: tuple[tuple[str, Tool], tuple[str, Tool]] = (("npm-a", "npm"), ("npm-b", "npm"))
    expected, got = _play_twins(tmp_path, row, sides, verdaccio, private_verdaccio)

    found = differences(expected, got)
    assert not found, _report(row, found, expected, got)
    # The harness saw something: a row whose command never ran would agree trivially.
    assert expected.stdout or expected.files or expected.exact, expected.log


def test_normalisation_touches_only_the_twin_path_and_the_timing(tmp_path: Path) -> None:
    twin = tmp_path / "ipnpm"
    printed = (
        f"diff-project@1.0.0 {twin}/work/project\n"
        "added 3 packages in 412ms\nup to date in 2s\nchanged 1 package in 1.5m\n"
        "x ran in 2s flat\nhttp://127.0.0.1:4873/ in 2s"
    )
    assert normalise(printed, twin) == (
        "diff-project@1.0.0 <TWIN>/work/project\n"
        "added 3 packages in <TIME>\nup to date in <TIME>\nchanged 1 package in <TIME>\n"
        "x ran in 2s flat\nhttp://127.0.0.1:4873/ in <TIME>"
    )
