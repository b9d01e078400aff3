from __future__ import annotations

import shlex

import pytest

from ipnpm.npm.commands import LOCK_WRITERS, LOCKFILE_COMMANDS, needs_registry, npm_command


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["install"], True),
        (["i", "left-pad"], True),
        (["ci"], True),
        (["x", "cowsay"], True),
        (["view", "a"], True),
        # Publishing downloads nothing: npm talks to the registry itself (issue 11).
        (["publish"], False),
        (["audit"], True),
        (["run", "build"], False),
        (["test"], False),
        (["ls"], False),
        (["--version"], False),
        ([], False),
        (["init"], False),
        (["init", "-y"], False),
        (["init", "vite"], True),
        (["login"], False),
        (["config", "get", "registry"], False),
    ],
)
def test_needs_registry(args: list[str], expected: bool) -> None:
    assert needs_registry(args) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Options before the command word (issue 11).
        ("-v", False),
        ("-h", False),
        ("--help", False),
        ("-l", False),
        ("-v install", False),  # npm prints its version and stops
        ("install -h", False),  # npm prints install's usage and stops
        ("help install", False),
        ("-s run x", False),
        ("--silent view x version", True),
        ("--loglevel=silent view x", True),
        ("--loglevel silent view x", True),
        ("--json view x", True),
        ("-g ls", False),
        ("-g install x", True),
        ("-w pkg run x", False),
        ("-w a -w b install", True),
        ("--workspace=a run x", False),
        ("--prefix sub install x", True),
        ("--prefix sub run build", False),
        ("--prefix install run build", False),  # "install" is the prefix
        ("--registry http://r.invalid/ i foo", True),
        ("run x -- --prefix y install", False),
        ("-- install foo", True),
        ("exec -c 'npm view x'", True),
        ("init esm -y", True),
        ("init -w pkg", False),
        ("create vite", True),
        ("isntall", True),
        ("clean-install", True),
        ("cit", True),
        ("outdated", True),
        ("pack", True),
        ("diff", True),
        ("cache add x", True),
        ("cache clean --force", False),
        ("cache ls", False),
        ("find-dupes", True),
        ("uninstall x", True),
        ("nosuchcommand", False),
    ],
)
def test_needs_registry_reads_the_line_as_npm_does(line: str, expected: bool) -> None:
    assert needs_registry(shlex.split(line)) is expected


@pytest.mark.parametrize(
    "command",
    ["publish", "unpublish", "dist-tag", "dist-tags", "deprecate", "undeprecate", "owner",
     "author", "access", "token", "profile", "team", "org", "star", "unstar", "stars", "hook",
     "ping", "whoami", "search", "find", "s", "login", "logout", "adduser", "add-user",
     "doctor", "repo", "docs", "home", "bugs", "issues"],
)  # fmt: skip
def test_commands_that_download_nothing_go_straight_to_npm(command: str) -> None:
    assert needs_registry([command, "x"]) is False
    assert needs_registry(["--json", command]) is False


def test_npm_command_is_the_canonical_name() -> None:
    assert npm_command(["--prefix", "sub", "isntall", "x"]) == "install"
    assert npm_command(["-s", "ic"]) == "ci"
    assert npm_command(["-g"]) is None
    assert npm_command(["run", "x", "--", "install"]) == "run"


def test_lockfile_sets_hold_canonical_names_and_their_aliases() -> None:
    assert {"ci", "clean-install", "ic", "install-ci-test", "cit"} <= LOCKFILE_COMMANDS
    assert {"install", "i", "add", "update", "up", "uninstall", "rm", "link"} <= LOCK_WRITERS
    assert not LOCKFILE_COMMANDS & LOCK_WRITERS
    for args in (["i"], ["-w", "a", "add", "x"], ["update"]):
        assert npm_command(args) in LOCK_WRITERS
