"""Twin worlds for differential tests: the same command line through real npm and through ipnpm.

A row of tests/test_differential.py is one command line plus its setup. Each side runs it in
its own twin: an NpmEnv (npmrc, npm cache, HOME, ipnpm store) under `<tmp>/<twin name>/`, with
the project at `work/project` and a global prefix at `work/global`, against the same session
Verdaccio registries. The twins run one after the other, never at the same time, so a
registry's state (a publish) is the same when each side starts.

What is compared (Outcome): exit code, stdout, every package.json / package-lock.json /
npm-shrinkwrap.json byte for byte, and every other file under `work/` by path and content
(node_modules and the global prefix included, symlinks by target). ipnpm's stderr is never
compared: that is where its own words go.

Normalisations, the only ones (each for a difference the twins cannot avoid):
- stdout: the twin's directory (`<tmp>/npm-a`, `<tmp>/ipnpm`, also in its resolved form) reads
  `<TWIN>`: `npm ls` prints the project's absolute path, and usage texts print the npmrc's.
  Twin names have the same length, so column alignment cannot differ either.
- stdout: npm's elapsed time at the end of a summary line ("added 3 packages in 412ms") reads
  `in <TIME>`.
- files: `ipnpm-lock.json` (ipnpm's own CID lockfile, written beside package-lock.json by
  design) is left out of the tree; nothing else is.
Lockfiles are compared raw: they hold no paths and no times.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tests.support.npm_env import NpmEnv, ScopedRegistry, describe

Tool = Literal["npm", "ipnpm"]

# Every twin name has this length (see the module docstring).
TWIN_NAMES = ("npm-a", "npm-b", "ipnpm")
_EXACT_FILES = frozenset({"package.json", "package-lock.json", "npm-shrinkwrap.json"})
_IPNPM_OWN_FILES = frozenset({"ipnpm-lock.json"})
# npm's summary lines end with " in " + the `ms` package's rendering: 412ms, 2s, 1.5m, 1h.
_TIMING = re.compile(r" in \d+(?:\.\d+)?(?:ms|s|m|h|d)$", re.MULTILINE)
_LOOPBACK = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)")
# Lines of ipnpm's own on its stderr (errors.py / boundary.py): not npm output.
_IPNPM_LINE = re.compile(r"^(?:ipnpm:|hint:)", re.MULTILINE)


@dataclass(frozen=True)
class Places:
    """Values a row may use as {placeholders} in its command lines, npmrc lines and files."""

    registry: str  # the public Verdaccio, "http://127.0.0.1:PORT/"
    registry_host: str  # "127.0.0.1:PORT"
    prefix: str  # this twin's global prefix (absolute), for `-g ... --prefix {prefix}`
    unique: str  # the same in both twins of one test, new for every test (publish names)

    def fill(self, text: str) -> str:
        return text.format(**self.__dict__)


# Writes a project into an empty directory; may use the placeholders.
ProjectBuilder = Callable[[Path, Places], None]


@dataclass(frozen=True)
class Row:
    """One command line and its setup: one line of data in the table.

    Setup runs in this order, in the project directory, and must succeed:
    `npmrc` lines are appended to the user npmrc; the `project` builder writes files;
    each `before` command line runs through real npm (in both twins: a lockfile "made first by
    npm"); each `warm` command line runs through the twin's own tool (npm or ipnpm: a warm npm
    cache and ipnpm store). Then `command` runs through the twin's tool (ipnpm gets
    `ipnpm_command` when set, e.g. its own `--offline` before the npm command). `after` command
    lines run through real npm once the outcome is taken (cleanup, e.g. unpublish).
    """

    id: str
    command: str
    project: str = "empty"
    before: tuple[str, ...] = ()
    warm: tuple[str, ...] = ()
    npmrc: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    ipnpm_command: str | None = None

    def command_for(self, tool: Tool) -> str:
        return self.ipnpm_command if tool == "ipnpm" and self.ipnpm_command else self.command


@dataclass(frozen=True)
class Outcome:
    """What one twin's run left behind, normalised (see the module docstring)."""

    exit_code: int
    stdout: str
    exact: dict[str, str]  # relative path -> full text of package.json and lockfiles
    files: dict[str, str]  # relative path -> digest or "symlink:<target>", everything else
    log: str  # every process the twin ran, for failure messages (not compared)
    loopback_ports: frozenset[int]  # every 127.0.0.1:<port> in npm's stdout and stderr


@dataclass
class Twin:
    """One side of a differential test."""

    root: Path
    tool: Tool
    env: NpmEnv
    places: Places
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def project(self) -> Path:
        return self.work / "project"

    def run(self, command: str, tool: Tool) -> subprocess.CompletedProcess[str]:
        args = [self.places.fill(arg) for arg in shlex.split(command)]
        runner = self.env.run_ipnpm if tool == "ipnpm" else self.env.run_npm
        result = runner(args, self.project)
        self.runs.append(result)
        return result

    def normalise(self, text: str) -> str:
        return normalise(text, self.root)


def normalise(text: str, twin_root: Path) -> str:
    """What stdout reads once the unavoidable differences are gone (module docstring)."""
    for root in sorted({str(twin_root), str(twin_root.resolve())}, key=len, reverse=True):
        text = text.replace(root, "<TWIN>")
    return _TIMING.sub(" in <TIME>", text)


class SetupFailed(AssertionError):
    """A row's setup did not succeed in one twin: the row fails, naming the step."""


def make_twin(
    base: Path,
    name: str,
    tool: Tool,
    *,
    registry: str,
    scopes: Sequence[ScopedRegistry],
    unique: str,
) -> Twin:
    if name not in TWIN_NAMES:
        raise ValueError(f"twin names must be one of {TWIN_NAMES} (equal lengths)")
    root = base / name
    places = Places(
        registry=registry,
        registry_host=registry.split("://", 1)[1].rstrip("/"),
        prefix=str(root / "work" / "global"),
        unique=unique,
    )
    env = NpmEnv(root, registry=registry, scopes=scopes)
    twin = Twin(root, tool, env, places)
    twin.project.mkdir(parents=True)
    return twin


def play(twin: Twin, row: Row, projects: Mapping[str, ProjectBuilder]) -> Outcome:
    """Set the twin up as the row says, run its command, take the outcome, clean up."""
    if row.npmrc:
        with twin.env.npmrc.open("a") as rc:
            rc.writelines(f"{twin.places.fill(line)}\n" for line in row.npmrc)
    projects[row.project](twin.project, twin.places)
    steps: list[tuple[str, Tool]] = [(c, "npm") for c in row.before]
    steps += [(c, twin.tool) for c in row.warm]
    for command, tool in steps:
        result = twin.run(command, tool)
        if result.returncode != 0:
            raise SetupFailed(f"{twin.tool} twin, setup `{tool} {command}`:\n{describe(result)}")
    result = twin.run(row.command_for(twin.tool), twin.tool)
    outcome = _outcome(twin, result)
    for command in row.after:
        # Not checked: cleanup after a command that failed may fail as well, and the outcome
        # is already taken.
        twin.run(command, "npm")
    return outcome


def _outcome(twin: Twin, result: subprocess.CompletedProcess[str]) -> Outcome:
    exact: dict[str, str] = {}
    files: dict[str, str] = {}
    for path in sorted(twin.work.rglob("*")):
        relative = path.relative_to(twin.work).as_posix()
        if path.name in _IPNPM_OWN_FILES:
            continue
        if path.is_symlink():
            files[relative] = f"symlink:{os.readlink(path)}"
        elif path.is_file() and path.name in _EXACT_FILES:
            exact[relative] = path.read_text()
        elif path.is_file():
            files[relative] = _digest(path)
    return Outcome(
        exit_code=result.returncode,
        stdout=twin.normalise(result.stdout),
        exact=exact,
        files=files,
        log="\n\n".join(describe(r) for r in twin.runs),
        loopback_ports=frozenset(p for r in twin.runs for p in npm_loopback_ports(r)),
    )


def npm_loopback_ports(result: subprocess.CompletedProcess[str]) -> set[int]:
    """Loopback ports in what npm printed: stdout, and stderr without ipnpm's own lines."""
    npm_stderr = "\n".join(
        line for line in result.stderr.splitlines() if not _IPNPM_LINE.match(line)
    )
    return {int(port) for port in _LOOPBACK.findall(f"{result.stdout}\n{npm_stderr}")}


def differences(expected: Outcome, got: Outcome) -> list[str]:
    """Every way `got` differs from `expected`, one readable paragraph each; [] if none."""
    found = []
    if got.exit_code != expected.exit_code:
        found.append(f"exit code: expected {expected.exit_code}, got {got.exit_code}")
    if got.stdout != expected.stdout:
        found.append(_text_diff("stdout", expected.stdout, got.stdout))
    for path in sorted(expected.exact.keys() | got.exact.keys()):
        want, have = expected.exact.get(path), got.exact.get(path)
        if want != have:
            found.append(_text_diff(path, want, have))
    changed = [
        f"  {path}: expected {expected.files.get(path, '(absent)')}, "
        f"got {got.files.get(path, '(absent)')}"
        for path in sorted(expected.files.keys() | got.files.keys())
        if expected.files.get(path) != got.files.get(path)
    ]
    if changed:
        found.append("files:\n" + "\n".join(changed))
    return found


def _text_diff(label: str, expected: str | None, got: str | None) -> str:
    if expected is None or got is None:
        return f"{label}: expected {_presence(expected)}, got {_presence(got)}"
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        got.splitlines(keepends=True),
        fromfile=f"{label} (expected)",
        tofile=f"{label} (got)",
    )
    return "".join(lines) or f"{label}: differs only in line endings"


def _presence(text: str | None) -> str:
    return "(absent)" if text is None else f"{len(text)} characters"


def _digest(path: Path) -> str:
    executable = " +x" if os.access(path, os.X_OK) else ""
    return f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}{executable}"
