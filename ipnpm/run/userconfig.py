"""The per-run userconfig file: private to this user, gone when the run ends."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def read_user_npmrc(path: Path | None) -> str:
    """The user's own npmrc, to be copied into the run's; none (or unreadable) is empty, as
    npm treats it (npm itself already read it for ``npm config ls`` without complaint)."""
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        # Missing is normal; unreadable would have failed `npm config ls` first, which ran
        # before this with npm's own message. Either way npm sees what it saw there: nothing.
        return ""


@contextmanager
def run_userconfig(text: str) -> Iterator[Path]:
    """``text`` in a 0600 file inside a fresh 0700 directory: it holds the user's credentials
    and the run's secret, so no other local user may read it, and it leaves with the run."""
    directory = Path(tempfile.mkdtemp(prefix="ipnpm-run-"))  # mkdtemp makes it 0700
    try:
        path = directory / "npmrc"
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)
