"""Route an npm command line: straight to npm, or through a proxy session."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ipnpm.errors import NpmNotFoundError
from ipnpm.npm.commands import needs_registry
from ipnpm.npm.locate import find_npm
from ipnpm.settings import Settings


def exec_npm(npm: str, args: Sequence[str]) -> None:
    """Replace this process with npm: signals, TTY and exit code are npm's own."""
    try:
        os.execv(npm, [npm, *args])  # noqa: S606 - exec'ing the user's npm is the point
    except OSError as exc:
        raise NpmNotFoundError(f"cannot run {npm}: {exc.strerror}") from exc


def npm_entry(settings: Settings, args: Sequence[str]) -> int:
    npm = find_npm(settings.npm, os.environ)
    if not needs_registry(args):
        exec_npm(npm, args)
    # Imported here so that pass-through commands never load the HTTP and hashing stacks.
    from ipnpm.npm_run import run_npm

    return run_npm(settings, npm, args, Path.cwd())
