"""npm's log levels, and ipnpm's own lines on stderr at the level npm was given.

``npm -s …`` must print nothing of ipnpm's either: the summary line is a ``notice`` (npm's
default level shows it), warnings are ``warn``, and a failure's own explanation is ``error``.
The level is set once per run, from npm's command line or its configuration (``loglevel=``).
"""

from __future__ import annotations

import sys

LEVELS = ("silent", "error", "warn", "notice", "http", "timing", "info", "verbose", "silly")
DEFAULT = "notice"
_threshold = LEVELS.index(DEFAULT)


def set_level(level: str | None) -> None:
    """Show ipnpm's lines up to ``level`` (npm's name; unknown or None: npm's default)."""
    global _threshold  # noqa: PLW0603 - one process, one npm invocation, one level
    _threshold = LEVELS.index(level if level in LEVELS else DEFAULT)


def shows(level: str) -> bool:
    return _threshold >= LEVELS.index(level)


def say(level: str, line: str) -> None:
    """``line`` on stderr if npm's level shows ``level``."""
    if shows(level):
        print(line, file=sys.stderr)


def warn(message: str) -> None:
    say("warn", f"ipnpm: warning: {message}")
