"""The ``ipnpm`` executable: where a command line goes.

``ipnpm [npm's arguments, with --ipnpm-* options anywhere]`` is npm's command line. Commands
that never touch a registry (``ipnpm run build``, ``ipnpm -v``) are exec'd straight into npm
here, before click or anything else heavy is imported: ``alias npm=ipnpm`` must not slow down
what never touches a registry. ``ipnpm ipfs …`` is ipnpm's own (``ipnpm.cli.ipfs``); every
other npm command runs through a proxy (``ipnpm.cli.main``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ipnpm.cli.boundary import report
from ipnpm.cli.own_options import OwnArgs, split_own_options
from ipnpm.errors import IpnpmError
from ipnpm.npm.commands import needs_registry
from ipnpm.npm.locate import find_npm
from ipnpm.run.child import exec_npm

if TYPE_CHECKING:
    from ipnpm.settings import Settings


def _plain_npm(own: OwnArgs) -> bool:
    """Nothing for ipnpm to do but pick the npm: not ``ipfs``, and no registry reached."""
    return (
        set(own.settings) <= {"npm"}
        and own.npm_args[:1] != ("ipfs",)
        and not needs_registry(own.npm_args)
    )


def main() -> None:
    leave(dispatch(sys.argv[1:]))


def leave(code: int) -> NoReturn:
    """Exit with ``code`` now that the run is over and written down, without the interpreter's
    teardown: freeing every module of a full run costs tens of milliseconds after npm has
    finished, on every command (BENCHMARKS.md). The normal exit where that teardown could
    still matter: a thread that is not a daemon still running, or stdio that cannot be
    flushed (Python then reports it, and exits 120)."""
    import logging
    import threading

    busy = [t for t in threading.enumerate() if t.is_alive() and not t.daemon]
    if busy != [threading.main_thread()]:
        sys.exit(code)
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def dispatch(args: Sequence[str]) -> int:
    try:
        own = split_own_options(args)
    except IpnpmError as exc:
        return report(exc)
    if _plain_npm(own):
        npm_path = own.settings.get("npm") or os.environ.get("IPNPM_NPM")
        # On failure the full path below says what is wrong, with a hint and an exit code.
        with contextlib.suppress(IpnpmError):
            exec_npm(find_npm(str(npm_path) if npm_path else None, os.environ), own.npm_args)
    if own.npm_args[:1] == ("ipfs",):
        from ipnpm.cli.ipfs import run_ipfs

        return run_ipfs(own)
    with _reading_npm_config(own):
        from ipnpm.cli.main import run_npm_line

        return run_npm_line(own)


@contextlib.contextmanager
def _reading_npm_config(own: OwnArgs) -> Iterator[None]:
    """npm's configuration read while ipnpm's own settings resolve and its run loads, with the
    npm they will almost always name (another one simply asks npm again)."""
    npm_path = own.settings.get("npm") or os.environ.get("IPNPM_NPM")
    try:
        npm = find_npm(str(npm_path) if npm_path else None, os.environ)
    except IpnpmError:
        npm = None  # the run reports it, with its hint and exit code
    if npm is None or not needs_registry(own.npm_args):
        yield
        return
    with early_config_ls(npm, own.npm_args, Path.cwd(), may_become_npm=True):
        yield


def npx_main() -> None:
    """``ipnpx``: to npx what ``ipnpm`` is to npm (``alias npx=ipnpx``)."""
    try:
        own = split_own_options(sys.argv[1:])
    except IpnpmError as exc:
        sys.exit(report(exc))
    from ipnpm.cli.main import run_npx_line

    leave(run_npx_line(own))


def npm_entry(settings: Settings, args: Sequence[str]) -> int:
    """An npm command line with ipnpm's options resolved: exec'd as is, or through a proxy."""
    npm = find_npm(settings.npm, os.environ)
    if not needs_registry(args):
        exec_npm(npm, args)
    cwd = Path.cwd()
    with early_config_ls(npm, args, cwd, may_become_npm=True):
        # Imported here so that pass-through commands never load the HTTP and hashing stacks.
        from ipnpm.run.through_proxy import run_npm

        return run_npm(settings, npm, args, cwd)


@contextlib.contextmanager
def early_config_ls(
    npm: str, args: Sequence[str], cwd: Path, *, may_become_npm: bool = False
) -> Iterator[None]:
    """``npm config ls --json`` started now, for the run to collect after its imports (the
    same environment as the run computes it: a different one simply asks npm again).
    ``may_become_npm``: its Node then waits to become this run's npm (npm/waiting.py)."""
    from ipnpm.npm.commands import AGENT_ONLY_COMMANDS, npm_command
    from ipnpm.npm.config_ls import config_env, started_config_ls
    from ipnpm.npm.overrides import take_option

    userconfig = take_option(args, "userconfig")[1]
    env = config_env(os.environ, cwd, userconfig[-1] if userconfig else None)
    agent_only = npm_command(args) in AGENT_ONLY_COMMANDS
    with started_config_ls(npm, cwd, env, may_become_npm=may_become_npm, agent_only=agent_only):
        yield
