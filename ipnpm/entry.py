"""The ``ipnpm`` executable. Pass-through commands (``ipnpm run build``) are recognised here and
exec'd straight into npm, before click or anything else heavy is imported: ``alias npm=ipnpm``
must not slow down what never touches a registry."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ipnpm.errors import IpnpmError
from ipnpm.npm.commands import needs_registry
from ipnpm.npm.locate import find_npm


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
        try:
            npm = find_npm(os.environ.get("IPNPM_NPM"), os.environ)
            os.execv(npm, [npm, *args])  # noqa: S606 - exec'ing the user's npm is the point
        except (IpnpmError, OSError):
            pass  # the full path below says what is wrong, with a hint and an exit code
    from ipnpm.cli import main as cli_main

    cli_main()
