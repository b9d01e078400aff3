"""Every error ipnpm reports on purpose, with the exit code it maps to.

This module imports nothing from ipnpm so that any layer can raise these errors and the one
error boundary (``ipnpm.boundary``) can turn them into a message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """ipnpm's own exit codes. npm's exit code always passes through unchanged instead."""

    OK = 0
    FAILURE = 1  # generic failure of an ipnpm command
    USAGE = 2  # bad ipnpm option or argument (click uses 2 as well)
    NPM_NOT_FOUND = 3  # no npm executable to run
    CONFIG = 4  # npm configuration or an npmrc could not be read
    STORE = 5  # the store directory cannot be used
    MISSING = 6  # offline and some locked tarballs are not in the store
    INTEGRITY = 7  # content failed verification (store verify found bad objects)
    LOCKFILE = 8  # a lockfile ipnpm must read is malformed
    INTERNAL = 70  # a bug: EX_SOFTWARE from sysexits.h
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT


class IpnpmError(Exception):
    """An error with a message for the user, an optional hint on how to fix it, and an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(IpnpmError):
    """An ipnpm option or argument is wrong."""

    exit_code = ExitCode.USAGE


class NpmNotFoundError(IpnpmError):
    """No npm executable could be found (or the one given cannot run)."""

    exit_code = ExitCode.NPM_NOT_FOUND


class NpmConfigError(IpnpmError):
    """npm's configuration could not be read."""

    exit_code = ExitCode.CONFIG


class StoreError(IpnpmError):
    """The local content store cannot be created, read or written."""

    exit_code = ExitCode.STORE


class MissingContentError(IpnpmError):
    """Content that is needed is available from no source (typically offline)."""

    exit_code = ExitCode.MISSING


class IntegrityError(IpnpmError):
    """Bytes did not match the hash they were supposed to have."""

    exit_code = ExitCode.INTEGRITY


class LockfileError(IpnpmError):
    """A lockfile ipnpm needs to read is not valid."""

    exit_code = ExitCode.LOCKFILE
