"""What one run did, for the user (one summary line) and for audits (a JSON-lines log).

The log holds package names, integrities, CIDs, sources and status codes: never credentials,
never query strings.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

_KEEP = 20  # newest run logs kept in the store


class RunLog:
    def __init__(self, directory: Path) -> None:
        self.started = time.monotonic()
        self.path = directory / f"run-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.jsonl"
        self._lock = threading.Lock()
        self.tarballs: Counter[str] = Counter()  # source -> count
        self.bytes = 0
        self.packuments: Counter[str] = Counter()
        self.missing: list[str] = []
        directory.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._prune(directory)

    def _prune(self, directory: Path) -> None:
        for old in sorted(directory.glob("run-*.jsonl"))[:-_KEEP]:
            old.unlink(missing_ok=True)

    def event(self, kind: str, **fields: Any) -> None:
        record = {"t": round(time.monotonic() - self.started, 4), "event": kind, **fields}
        with self._lock:
            if kind == "tarball":
                self.tarballs[str(fields["source"])] += 1
                self.bytes += int(fields.get("size", 0))
            elif kind == "packument":
                self.packuments[str(fields["source"])] += 1
            elif kind == "missing":
                self.missing.append(f"{fields['spec']}: {'; '.join(fields.get('failures', []))}")
            self._file.write(json.dumps(record, sort_keys=True) + "\n")
            self._file.flush()

    def summary(self) -> str:
        total = sum(self.tarballs.values())
        parts = [f"{total} tarballs verified"]
        parts += [f"{count} {source}" for source, count in sorted(self.tarballs.items())]
        parts.append(f"{self.bytes / 1e6:.1f} MB")
        if self.packuments:
            parts.append(f"{sum(self.packuments.values())} packuments")
        if self.missing:
            parts.append(f"{len(self.missing)} missing")
        parts.append(f"{time.monotonic() - self.started:.1f} s")
        return "ipnpm: " + " · ".join(parts)

    def missing_report(self) -> list[str]:
        """One line per package the proxy had to answer 404 for, with every source's reason."""
        if not self.missing:
            return []
        lines = [f"ipnpm: {len(self.missing)} package(s) could not be served:"]
        lines += [f"  {entry}" for entry in sorted(set(self.missing))]
        return lines

    def __enter__(self) -> RunLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._file.close()
