"""Every error ipnpm reports on purpose, with the exit code it maps to.

This module imports nothing from ipnpm so that any layer can raise these errors and the one
error boundary (``ipnpm.cli.boundary``) can turn them into a message and an exit code.
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
    INDEX = 9  # a registry index cannot be used: its IPNS record is invalid, expired, rolled back
    KUBO = 10  # the Kubo daemon ipnpm was told to use cannot be used
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


class IndexUnavailableError(IpnpmError):
    """A registry index could not be resolved, or its record is not acceptable."""

    exit_code = ExitCode.INDEX


class KuboUnavailableError(IpnpmError):
    """Kubo's RPC API failed or answered with an error."""

    exit_code = ExitCode.KUBO


# Exceptions that wrap another one under these attribute names (requests and urllib3 do).
_WRAPPED = ("reason", "__cause__", "__context__")
_MAX_REASON = 300


def _innermost(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = next(
            (
                value
                for value in (getattr(current, name, None) for name in _WRAPPED)
                if isinstance(value, BaseException)
            ),
            None,
        )
        if inner is None and current.args and isinstance(current.args[0], BaseException):
            inner = current.args[0]
        if inner is None:
            break
        current = inner
    return current


def reason(exc: BaseException) -> str:
    """``exc`` as one short line for a user: the innermost cause, which names what really went
    wrong ("SSLCertVerificationError: certificate verify failed: self-signed certificate in
    certificate chain" rather than "SSLError: HTTPSConnectionPool(...): Max retries exceeded").
    Used for the message npm shows, the run log and ``--debug`` alike, so they never disagree."""
    inner = _innermost(exc)
    if isinstance(inner, IpnpmError):
        text = inner.message
    else:
        text = str(getattr(inner, "verify_message", "") or "") or str(inner)
        if getattr(inner, "verify_message", None) and getattr(inner, "reason", None):
            text = f"certificate verify failed: {inner.verify_message}"  # type: ignore[attr-defined]
        text = f"{type(inner).__name__}: {text}" if text else type(inner).__name__
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
