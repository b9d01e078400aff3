"""``npm config ls --json``, started as early as a run knows its npm, collected when needed.

The command is a Node start (~0.2 s): started before ipnpm imports its proxy and clients, it
runs while they load. For npm 11 installed as ``…/npm/bin/npm-cli.js`` (npm from nodejs.org,
a distribution or a version manager) it is ``config_ls.js`` instead: npm's own configuration
loader (``@npmcli/config`` of that npm) without the rest of npm's CLI, 60-90 ms sooner. When
that script cannot answer (npm's loader fails, another npm), npm itself is asked, so such an
error is npm's own; a value npm's loader takes but npm's CLI refuses (``loglevel=bogus``) is
then refused by npm itself, as the command runs, with npm's exit code.

Started for a run of npm itself (``may_become_npm``), that script's Node keeps waiting once it
has answered, and becomes the run's npm if it can (``waiting_npm``; ``npm/waiting.py``).

``started_config_ls`` starts it for one (npm, cwd, environment);
``config_values`` collects that read when asked for exactly the same three, else runs npm
anew, so the early start can never change what ipnpm reads. Errors surface when the values
are collected, as if npm had only been run then.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

from ipnpm.errors import NpmConfigError
from ipnpm.npm.waiting import EXTRA_CA, WaitingNpm

TIMEOUT = 60.0
_Key = tuple[str, str, tuple[tuple[str, str], ...]]


class _ConfigLs:
    """One ``npm config ls --json`` child, its output collected once."""

    def __init__(
        self,
        npm: str,
        cwd: Path,
        env: Mapping[str, str],
        *,
        fast: bool = True,
        may_become_npm: bool = False,
        agent_only: bool = False,
    ) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.waiting: WaitingNpm | None = None
        self._error: OSError | None = None
        self._again = (npm, cwd, env)
        self.loader = _loader_argv(npm, env) if fast else None
        argv, child_env = self.loader or [npm, "config", "ls", "--json"], dict(env)
        # A Node that may become npm keeps the bundle, unless npm's own connections are all
        # its agent's (``agent_only``: npm/waiting.py); a bundle that is not a file stays, so
        # that Node's warning about it is npm's, as without ipnpm.
        keeps_ca = may_become_npm and not (agent_only and os.path.isfile(env.get(_EXTRA_CA, "")))
        if self.loader is not None and _EXTRA_CA in child_env and not keeps_ca:
            argv = [*argv, "--ca", child_env.pop(_EXTRA_CA)]
        try:
            if may_become_npm and self.loader is not None:
                without_extra_ca = _EXTRA_CA in env and not keeps_ca
                self.waiting = WaitingNpm(argv, npm, cwd, env, without_extra_ca=without_extra_ca)
                return
            self._process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as exc:
            self._error = exc  # reported when collected, like every other failure

    def values(self) -> dict[str, object]:
        if self.loader is None:
            return self._values()
        try:
            return self._values()
        except NpmConfigError:
            npm, cwd, env = self._again  # npm itself, for npm's own answer or message
            return _ConfigLs(npm, cwd, env, fast=False).values()

    def _collect(self) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of the read; a Node waiting to become npm counts as 0,
        and its stderr is npm's, the terminal's."""
        try:
            if self.waiting is not None:
                code, stdout = self.waiting.configuration(TIMEOUT)
                return (0 if code is None else code), stdout, ""
            if self._process is None:
                raise _could_not_run(self._error or OSError("not started"))
            stdout, stderr = self._process.communicate(timeout=TIMEOUT)
            return self._process.returncode, stdout, stderr
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise _could_not_run(exc) from exc

    def _values(self) -> dict[str, object]:
        returncode, stdout, stderr = self._collect()
        if returncode != 0:
            detail = stderr.strip().splitlines()[-1:] or ["no output"]
            raise NpmConfigError(
                f"`npm config ls` failed: {detail[0]}",
                hint="fix the npmrc file npm complains about, then run ipnpm again",
            )
        try:
            return cast(dict[str, object], json.loads(stdout))
        except json.JSONDecodeError as exc:
            raise NpmConfigError(
                f"`npm config ls --json` printed invalid JSON: {exc}",
                hint="run `npm config ls --json` to see what npm prints",
            ) from exc

    def stop(self) -> None:
        """Kill and reap the child if it still runs (a read that was never collected), and
        send away a Node that waits to become npm and did not."""
        if self.waiting is not None:
            self.waiting.dismiss()
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def config_env(environ: Mapping[str, str], cwd: Path, userconfig: str | None) -> dict[str, str]:
    """npm's environment for a run: ``environ``, with npm's ``--userconfig`` from the command
    line (relative to ``cwd``) as ``npm_config_userconfig``."""
    env = dict(environ)
    if userconfig is not None:
        env = {k: v for k, v in env.items() if k.lower() != "npm_config_userconfig"}
        env["npm_config_userconfig"] = str((cwd / userconfig).resolve())
    return env


_LOADER = Path(__file__).with_name("config_ls.js")
# Node reads and parses this CA bundle as it starts, before any script runs: 70 ms of a 165 ms
# read here for the system bundle (/etc/ssl/certs), and the read opens no connection. The
# loader starts without it and gets its value as an argument, which it puts back into its own
# environment before npm's loader expands ``${NODE_EXTRA_CA_CERTS}`` in an npmrc.
_EXTRA_CA = EXTRA_CA


def _loader_argv(npm: str, env: Mapping[str, str]) -> list[str] | None:
    """``node config_ls.js NPM_ROOT`` for an npm that is ``NPM_ROOT/bin/npm-cli.js``, run by
    the ``node`` on PATH as its ``#!/usr/bin/env node`` line runs it; else None."""
    script = Path(os.path.realpath(npm))
    if script.name != "npm-cli.js" or script.parent.name != "bin" or not _LOADER.is_file():
        return None
    node = shutil.which("node", path=env.get("PATH", os.defpath))
    if node is None:
        return None
    return [node, str(_LOADER), str(script.parent.parent)]


def _could_not_run(exc: BaseException) -> NpmConfigError:
    return NpmConfigError(
        f"could not run `npm config ls`: {exc}", hint="check that npm runs: `npm --version`"
    )


def _key(npm: str, cwd: Path, env: Mapping[str, str]) -> _Key:
    return (npm, str(cwd), tuple(sorted(env.items())))


_started: dict[_Key, _ConfigLs] = {}
_waiting: dict[_Key, WaitingNpm] = {}  # collected reads whose Node waits to become npm


@contextlib.contextmanager
def started_config_ls(
    npm: str,
    cwd: Path,
    env: Mapping[str, str],
    *,
    may_become_npm: bool = False,
    agent_only: bool = False,
) -> Iterator[None]:
    """Start ``npm config ls --json`` now for a read expected inside this block; a read
    nobody collected is killed on exit. ``may_become_npm``: its Node, once read, waits to
    become the npm this block runs (``waiting_npm``), and is sent away on exit if it did not;
    ``agent_only``: that npm's own connections all go through its agent (``AGENT_ONLY_COMMANDS``
    in npm/commands.py), so the Node may start without Node's extra CA bundle."""
    key = _key(npm, cwd, env)
    if key in _started or key in _waiting:  # already started, earlier, for this very read
        yield
        return
    read = _started[key] = _ConfigLs(
        npm, cwd, env, may_become_npm=may_become_npm, agent_only=agent_only
    )
    try:
        yield
    finally:
        if _started.get(key) is read:
            del _started[key]
        _waiting.pop(key, None)
        read.stop()


def config_values(npm: str, cwd: Path, env: Mapping[str, str]) -> dict[str, object]:
    """npm's effective configuration in ``cwd`` under ``env``, as ``npm config ls --json``
    prints it: the read started for exactly these, else a new one."""
    key = _key(npm, cwd, env)
    read = _started.pop(key, None) or _ConfigLs(npm, cwd, env)
    values = read.values()
    if read.waiting is not None and read.waiting.process.returncode is None:
        _waiting[key] = read.waiting
    return values


def waiting_npm(
    npm: str, cwd: Path, env: Mapping[str, str], *, ca_in_force: bool
) -> WaitingNpm | None:
    """The Node of the configuration read of (npm, cwd, env), waiting to become that npm, if
    there is one that can; taken once. ``ca_in_force``: npm's ``ca`` or ``cafile`` is, so a
    Node started without the extra CA bundle connects as npm would (else it is sent away)."""
    waiting = _waiting.pop(_key(npm, cwd, env), None)
    if waiting is not None and waiting.without_extra_ca and not ca_in_force:
        waiting.dismiss()
        return None
    return waiting
