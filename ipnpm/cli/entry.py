"""The ``ipnpm`` executable: where a command line goes.

Pass-through commands (``ipnpm run build``) are recognised here and exec'd straight into npm,
before click or anything else heavy is imported: ``alias npm=ipnpm`` must not slow down what
never touches a registry. Everything else goes to the click command line (``ipnpm.cli.main``),
which comes back to ``npm_entry`` for npm's commands.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ipnpm.errors import IpnpmError
from ipnpm.npm.commands import needs_registry
from ipnpm.npm.locate import find_npm
from ipnpm.run.child import exec_npm

if TYPE_CHECKING:
    from ipnpm.settings import Settings


def _plain_npm(args: Sequence[str]) -> bool:
    """No ipnpm option, not ``ipfs``, and nothing that may reach a registry."""
    return (
        bool(args)
        and not args[0].startswith("-")
        and args[0] != "ipfs"
        and (not needs_registry(args))
    )


def main() -> None:
    args = sys.argv[1:]
    if _plain_npm(args):
        # On failure the full path below says what is wrong, with a hint and an exit code.
        with contextlib.suppress(IpnpmError):
            exec_npm(find_npm(os.environ.get("IPNPM_NPM"), os.environ), args)
    from ipnpm.cli.main import main as cli_main

    cli_main()


def npm_entry(settings: Settings, args: Sequence[str]) -> int:
    """An npm command line after ipnpm's options: exec'd as is, or run through a proxy."""
    npm = find_npm(settings.npm, os.environ)
    if not needs_registry(args):
        exec_npm(npm, args)
    # Imported here so that pass-through commands never load the HTTP and hashing stacks.
    from ipnpm.run.through_proxy import run_npm

    return run_npm(settings, npm, args, Path.cwd())
