"""ipnpm.npm.argv against hand-written expectations and against npm's own parser."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from ipnpm.npm import _npm_options
from ipnpm.npm.argv import NpmArgv, option_name, parse

REPO = Path(__file__).resolve().parents[2]
ORACLE = Path(__file__).with_name("npm_argv_oracle.cjs")
# The real npm is the oracle: without it these tests fail (they are never skipped).
NPM = shutil.which("npm") or "npm"

# (command line after `npm`, command, index of the command word, positionals, options set)
ROWS: list[tuple[str, str | None, int | None, tuple[str, ...], dict[str, Any]]] = [
    ("", None, None, (), {}),
    ("-v", None, None, (), {"version": True}),
    ("--version", None, None, (), {"version": True}),
    ("-v install left-pad", "install", 1, ("left-pad",), {"version": True}),
    ("--versions", "version", None, (), {}),
    ("--help", None, None, (), {"usage": True}),
    ("-h", None, None, (), {"usage": True}),
    ("-?", None, None, (), {"usage": True}),
    ("-H", None, None, (), {"usage": True}),
    ("install -h", "install", 0, (), {"usage": True}),
    ("-l", None, None, (), {}),
    ("-s run x", "run", 1, ("x",), {"loglevel": "silent"}),
    ("--silent view x version", "view", 1, ("x", "version"), {"loglevel": "silent"}),
    ("--loglevel=silent view x", "view", 1, ("x",), {"loglevel": "silent"}),
    ("--loglevel silent view x", "view", 2, ("x",), {"loglevel": "silent"}),
    ("--loglevel bogus view x", "view", 2, ("x",), {}),
    ("-q ci", "ci", 1, (), {"loglevel": "warn"}),
    ("--quiet ci", "ci", 1, (), {"loglevel": "warn"}),
    ("-d ci", "ci", 1, (), {"loglevel": "info"}),
    ("-dd ci", "ci", 1, (), {"loglevel": "verbose"}),
    ("--verbose ci", "ci", 1, (), {"loglevel": "verbose"}),
    ("-ddd ci", "ci", 1, (), {"loglevel": "silly"}),
    ("-g ls", "ls", 1, (), {"global_": True}),
    ("-gl ls", "ls", 1, (), {"global_": True}),
    ("--local ls", "ls", 1, (), {"global_": False}),
    ("--no-global ls", "ls", 1, (), {"global_": False}),
    ("--global=false i", "install", 1, (), {"global_": False}),
    ("--json view x", "view", 1, ("x",), {"json": True}),
    ("--json false view x", "view", 2, ("x",), {"json": False}),
    ("--no-json view x", "view", 1, ("x",), {"json": False}),
    ("--json=foo view", None, 0, ("view",), {"json": True}),  # nopt leaves "foo" behind
    ("--prefix sub install x", "install", 2, ("x",), {"prefix": "sub"}),
    ("--prefix=sub install x", "install", 1, ("x",), {"prefix": "sub"}),
    ("-C sub ci", "ci", 2, (), {"prefix": "sub"}),
    ("--prefix --json ci", "ci", 2, (), {"prefix": "--json"}),  # a path takes anything
    ("-w pkg run x", "run", 2, ("x",), {"workspace": ("pkg",)}),
    ("-w a -w b install", "install", 4, (), {"workspace": ("a", "b")}),
    ("--workspace=a run x", "run", 1, ("x",), {"workspace": ("a",)}),
    ("--ws install", "install", 1, (), {"workspaces": True}),
    ("-ws install", "install", 1, (), {"workspaces": True}),
    ("--no-workspaces install", "install", 1, (), {"workspaces": False}),
    ("--offline ci", "ci", 1, (), {"offline": True}),
    (
        "--registry http://r.invalid/ i foo",
        "install",
        2,
        ("foo",),
        {"registry": "http://r.invalid/"},
    ),
    ("--reg=http://r.invalid/ i", "install", 1, (), {"registry": "http://r.invalid/"}),
    ("--userconfig ./u.npmrc ci", "ci", 2, (), {"userconfig": "./u.npmrc"}),
    ("run x -- --prefix y", "run", 0, ("x", "--prefix", "y"), {}),
    ("-- install foo", "install", 1, ("foo",), {}),
    ("exec -c 'npm view x'", "exec", 0, (), {}),
    ("exec -- cowsay -v", "exec", 0, ("cowsay", "-v"), {}),
    ("init -y", "init", 0, (), {}),
    ("init esm -y", "init", 0, ("esm",), {}),
    ("create vite", "init", 0, ("vite",), {}),
    ("--foo bar i", None, 1, ("i",), {}),  # an unknown flag takes no value...
    ("--foo=bar i", "install", 1, (), {}),  # ...unless it is given with =
    ("help install", "help", 0, ("install",), {}),
    ("i", "install", 0, (), {}),
    ("isntall", "install", 0, (), {}),
    ("add x", "install", 0, ("x",), {}),
    ("ic", "ci", 0, (), {}),
    ("clean-install", "ci", 0, (), {}),
    ("install-clean", "ci", 0, (), {}),
    ("cit", "install-ci-test", 0, (), {}),
    ("x cowsay", "exec", 0, ("cowsay",), {}),
    ("v x", "view", 0, ("x",), {}),
    ("info x", "view", 0, ("x",), {}),
    ("show x", "view", 0, ("x",), {}),
    ("rm x", "uninstall", 0, ("x",), {}),
    ("r x", "uninstall", 0, ("x",), {}),
    ("un x", "uninstall", 0, ("x",), {}),
    ("upgrade", "update", 0, (), {}),
    ("installTest", "install-test", 0, (), {}),
    ("outd", "outdated", 0, (), {}),  # an unambiguous abbreviation
    ("nosuchcommand", None, 0, (), {}),
]

# Corners of nopt checked against npm's parser only.
CORNERS = [
    "-w --json install",
    "--otp --json view x",
    "--otp= view x",
    "-sgl ls",
    "--no-no-json view x",
    "--prefix='  sub  ' install",
    "--prefix",
    "--prefix -- install",
    "--porc ls",
    "--prefi sub i",
    "--regi=http://r.invalid/ i",
    "--loglevel",
    "--loglevel -- i",
    "--no-loglevel i",
    "--loglevel silent --loglevel bogus i",
    "--workspaces null i",
    "--ws false install",
    "--no-workspace i",
    "-=x i",
    "--- install",
    "--include dev --include peer ci",
    "--foo --foo i",
    "--depth 3 ls",
    "--depth=null ls",
    "--location global i",
    "--browser false docs",
    "--browser firefox docs",
    "--yes null exec x",
    "-y exec x",
    "-n exec x",
    "-v --versions",
    "-S -D -E -O -P -B i x",
    "-fa ls",
    "--json=-g ls",
    "--save=false i",
    "--JSON view x",
    "- install",
    "'' install",
    "--registry http://R.Invalid/ i",
    "--registry http://r.invalid i",
]


def _args(line: str) -> list[str]:
    return shlex.split(line)


@pytest.mark.parametrize(("line", "command", "index", "positionals", "options"), ROWS)
def test_parse(
    line: str,
    command: str | None,
    index: int | None,
    positionals: tuple[str, ...],
    options: dict[str, Any],
) -> None:
    parsed = parse(_args(line))
    assert (parsed.command, parsed.command_index, parsed.positionals) == (
        command,
        index,
        positionals,
    )
    unset = {name: () if name == "workspace" else None for name in parse([]).as_dict()}
    expected = {**unset, "command": command, "command_index": index, "positionals": positionals}
    assert parsed.as_dict() == {**expected, **options}


def test_result_is_an_immutable_value() -> None:
    parsed = parse(["-g", "ls"])
    assert parsed == parse(["--global", "ls"]) != parse(["ls"])
    assert hash(parsed) == hash(parse(["--global", "ls"]))
    assert repr(parsed).startswith("NpmArgv(command='ls', command_index=1, ")
    with pytest.raises(AttributeError):
        parsed.command = "install"


def test_index_points_at_the_command_word_in_argv() -> None:
    args = ["--loglevel", "silent", "-w", "a", "--json", "--prefix=sub", "install", "x"]
    parsed = parse(args)
    assert parsed.command_index is not None
    assert args[parsed.command_index] == "install"


@pytest.fixture(scope="module")
def npm_root() -> Path:
    out = subprocess.run([NPM, "root", "-g"], capture_output=True, text=True, check=True).stdout
    return Path(out.strip()) / "npm"


@pytest.fixture(scope="module")
def oracle(npm_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """npm's own reading of every line, from one node process."""
    lines = [line for line, *_ in ROWS] + CORNERS
    cwd = tmp_path_factory.mktemp("cwd")
    result = subprocess.run(
        ["node", str(ORACLE), str(npm_root)],
        input=json.dumps([_args(line) for line in lines]),
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    answers = [json.loads(out) for out in result.stdout.splitlines()]
    return {"cwd": cwd, **dict(zip(lines, answers, strict=True))}


def _as_npm_keeps_it(parsed: NpmArgv, cwd: Path) -> dict[str, Any]:
    """Our values as npm's cli layer holds them: paths resolved, URLs normalised, unset dropped."""

    def path(value: str) -> str:
        expanded = str(Path.home() / value[2:]) if value.startswith("~/") else value
        return os.path.normpath(cwd / expanded)

    values: dict[str, Any] = {
        "loglevel": parsed.loglevel,
        "json": parsed.json,
        "global": parsed.global_,
        "prefix": parsed.prefix and path(parsed.prefix),
        "workspace": list(parsed.workspace) or None,
        "workspaces": parsed.workspaces,
        "offline": parsed.offline,
        "version": parsed.version,
        "usage": parsed.usage,
        "registry": parsed.registry and _normalised_url(parsed.registry),
        "userconfig": parsed.userconfig and path(parsed.userconfig),
    }
    return {key: value for key, value in values.items() if value is not None}


def _normalised_url(url: str) -> str:
    """What Node's url.parse(...).href makes of a plain http(s) URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", *parts[3:]))


@pytest.mark.parametrize("line", [row[0] for row in ROWS] + CORNERS)
def test_agrees_with_npms_parser(line: str, oracle: dict[str, Any]) -> None:
    npm = oracle[line]
    args = _args(line)
    parsed = parse(args)
    assert parsed.command == npm["command"]
    remain = npm["remain"]
    if npm["cli"].pop("versions", False):  # `npm --versions` runs `npm version`, no arguments
        assert (parsed.command_index, parsed.positionals) == (None, ())
    elif remain:
        word = args[parsed.command_index] if parsed.command_index is not None else None
        # The word is the argument itself, or what nopt left of `--json=foo`.
        assert word is not None and (word == remain[0] or word.endswith("=" + remain[0]))
        assert list(parsed.positionals) == remain[1:]
    else:
        assert (parsed.command_index, parsed.positionals) == (None, ())
    # npm keeps `workspaces: null`; ipnpm reads it as "not set", as npm's default is.
    cli = {key: value for key, value in npm["cli"].items() if value is not None}
    assert _as_npm_keeps_it(parsed, oracle["cwd"]) == cli


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--loglevel silly --json config get loglevel", "silly"),
        ("-dd config get loglevel", "verbose"),
        ("--prefix sub prefix", "sub"),
        ("-C sub -s prefix", "sub"),
    ],
)
def test_real_npm_reads_the_line_alike(line: str, expected: str, tmp_path: Path) -> None:
    """A harmless command run by the real npm shows the value it parsed."""
    args = _args(line)
    out = subprocess.run(
        [NPM, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "npm_config_update_notifier": "false"},  # no request for npm itself
    ).stdout.strip()
    parsed = parse(args)
    if parsed.prefix is not None:
        assert out == str(tmp_path / parsed.prefix) == str(tmp_path / expected)
    else:
        assert out == parsed.loglevel == expected


def test_option_table_matches_the_installed_npm(npm_root: Path) -> None:
    """A new npm that adds options or commands must be noticed: regenerate the table."""
    generated = subprocess.run(
        ["node", str(REPO / "scripts" / "gen-npm-options.mjs"), str(npm_root)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table = Path(_npm_options.__file__)
    assert generated == table.read_text(), (
        f"npm {_npm_options.NPM_VERSION} made {table.name}, this machine has another npm: "
        f"run node scripts/gen-npm-options.mjs > ipnpm/npm/_npm_options.py"
    )


@pytest.mark.parametrize(
    ("arg", "name"),
    [
        ("--registry", "registry"),
        ("--reg", "registry"),
        ("--regi=http://r.invalid/", "registry"),
        ("-C", "prefix"),
        ("--no-json", "json"),
        ("-gl", "global"),
        ("-s", "loglevel"),
        ("--re", "re"),  # ambiguous: an unknown option named "re"
        ("install", None),
        ("--", None),
        ("-", None),
    ],
)
def test_option_name(arg: str, name: str | None) -> None:
    assert option_name(arg) == name
