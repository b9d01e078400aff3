"""A single live progress line on a terminal; nothing at all in CI or when piped."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TextIO

_INTERVAL = 0.1  # seconds between redraws: smooth enough, cheap enough


def wants_animation(stream: TextIO, env: Mapping[str, str]) -> bool:
    ci = env.get("CI", "").lower() not in ("", "0", "false")
    return stream.isatty() and not ci and env.get("TERM") != "dumb"


class ProgressLine:
    def __init__(
        self,
        total: int,
        totals: Callable[[], Mapping[str, Any]],
        *,
        enabled: bool,
        stream: TextIO = sys.stderr,
    ) -> None:
        self.total = total
        self.totals = totals
        self.enabled = enabled
        self.stream = stream
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def advance(self, *_: object) -> None:
        with self._lock:
            self.done += 1
            now = time.monotonic()
            if self.enabled and (now - self._last >= _INTERVAL or self.done == self.total):
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        totals = self.totals()
        megabytes = totals["bytes"] / 1e6
        rate = megabytes / max(now - self.started, 1e-3)
        sources = " ".join(f"{n} {s}" for s, n in totals["sources"].items())
        line = f"ipnpm: {self.done}/{self.total} · {megabytes:.1f} MB · {rate:.1f} MB/s · {sources}"
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")  # the summary line replaces the live one
            self.stream.flush()
