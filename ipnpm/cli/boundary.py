"""The one place where errors become messages and exit codes.

``ipnpm: error: <what>`` and ``hint: <fix>`` on stderr; Ctrl-C exits 130; an unexpected error
prints one line and keeps the traceback in a file (on screen too with ``--debug``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ipnpm.errors import ExitCode, IpnpmError

# traceback and tempfile are imported when a failure needs them: every start, the pass-through
# `npm -v` included, loads this module (traceback alone pulls in tokenize and linecache).


def _write_traceback() -> Path | None:
    import tempfile
    import traceback

    try:
        with tempfile.NamedTemporaryFile(
            "w", prefix="ipnpm-crash-", suffix=".log", delete=False, encoding="utf-8"
        ) as handle:
            traceback.print_exc(file=handle)
            return Path(handle.name)
    except OSError:
        return None  # no crash log then; the one-line message still says what happened


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def report(exc: IpnpmError) -> int:
    """``ipnpm: error: …`` and ``hint: …`` on stderr; the error's exit code."""
    print(f"ipnpm: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    return int(exc.exit_code)


def guarded(action: Callable[[], int], *, debug: bool) -> int:
    """Run ``action`` and turn every failure into a message and an exit code."""
    try:
        return action()
    except IpnpmError as exc:
        if debug:
            _print_traceback()
        return report(exc)
    except KeyboardInterrupt:
        print("ipnpm: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if debug:
            _print_traceback()
        saved = _write_traceback()
        where = f" (traceback in {saved})" if saved else ""
        print(f"ipnpm: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        print("hint: rerun with --debug and report it", file=sys.stderr)
        return int(ExitCode.INTERNAL)
