"""What one run did, for the user (one summary line) and for audits (a JSON-lines log).

The log holds package names, integrities, CIDs, sources and status codes: never credentials,
never query strings.

The file is written by a thread of its own. Written under the log's lock by the thread that
reported, each line's write and flush released the GIL while the lock was held: the prefetch
workers, the hand-off and the proxy's threads then queued on that lock behind a thread waiting
for the GIL (a medium first install under py-spy: 46 % of all thread samples blocked there).
Now a report takes the lock for the counters and a queue put; the writer drains the queue and
flushes once it is empty, so a reader of a live run (serve mode) sees each event at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

_KEEP = 20  # newest run logs kept in the store
_LINGER = 0.005  # seconds the writer lets events gather before it writes them


class RunLog:
    """Thread-safe: the proxy's threads and the prefetch workers all report here."""

    def __init__(self, directory: Path) -> None:
        self.started = time.monotonic()
        self.path = directory / f"run-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.jsonl"
        self._lock = threading.Lock()
        self.obtained: dict[str, tuple[str, int]] = {}  # spec -> (first source, size)
        self.packuments: Counter[str] = Counter()
        self.missing: dict[str, list[str]] = {}  # spec -> every source's reason
        self.kept_local: set[str] = set()  # private tarballs not seeded
        self.seeded_private: dict[str, str] = {}  # private tarballs seeded -> what allowed it
        self.cid_alone: set[str] = set()  # specs no integrity vouched for, only a locked CID
        self.store_failure: str | None = None  # the first reason the store could not be written
        directory.mkdir(parents=True, exist_ok=True)
        # 0600 like the rest of the store: the log names private packages.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file: TextIO | None = os.fdopen(descriptor, "a", encoding="utf-8")
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()  # None: closing
        self._writer = threading.Thread(target=self._write_lines, name="runlog", daemon=True)
        self._writer.start()
        self._prune(directory)

    def _prune(self, directory: Path) -> None:
        cutoff = time.time() - 600  # a log written to lately may belong to a live server
        for old in sorted(directory.glob("run-*.jsonl"))[:-_KEEP]:
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    old.unlink()

    def event(self, kind: str, **fields: Any) -> None:
        record = {"t": round(time.monotonic() - self.started, 4), "event": kind, **fields}
        with self._lock:
            if kind == "tarball":
                spec = str(fields["spec"])
                self.obtained.setdefault(spec, (str(fields["source"]), int(fields["size"])))
                self.missing.pop(spec, None)
                if fields.get("cid_alone"):
                    self.cid_alone.add(spec)
            elif kind == "store-failed" and self.store_failure is None:
                self.store_failure = str(fields["error"])
            elif kind == "kept-local":
                self.kept_local.add(str(fields["spec"]))
            elif kind == "seed-private":
                self.seeded_private[str(fields["spec"])] = str(fields["allowed_by"])
            elif kind == "packument":
                self.packuments[str(fields["source"])] += 1
            elif kind == "missing" and fields["spec"] not in self.obtained:
                self.missing[str(fields["spec"])] = list(fields.get("failures", []))
            # Put under the lock: the file's order is the counters' order.
            self._lines.put(json.dumps(record) + "\n")

    def _write_lines(self) -> None:
        """The writer thread: every queued line, flushed whenever the queue runs dry."""
        while True:
            line = self._lines.get()
            # A burst (the hand-off of a warm store reports two events per tarball, thousands
            # in a second) is written in one go: a wake-up and a flush per event would be
            # CPU taken from npm. A live reader waits a few milliseconds more, at most.
            time.sleep(_LINGER)
            while line is not None:
                self._write(line)
                try:
                    line = self._lines.get_nowait()
                except queue.Empty:
                    break
            if self._file is not None:
                try:
                    self._file.flush()
                except OSError:
                    self._file = None  # a full disk must not stop the run; the counters go on
            if line is None:
                return

    def _write(self, line: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line)
        except OSError:
            self._file = None

    def totals(self) -> dict[str, Any]:
        """What the run obtained, each package counted once, by the source that delivered it."""
        with self._lock:
            by_source = Counter(source for source, _ in self.obtained.values())
            return {
                "packages": len(self.obtained),
                "sources": dict(sorted(by_source.items())),
                "bytes": sum(size for _, size in self.obtained.values()),
                "packuments": sum(self.packuments.values()),
                "missing": {spec: reasons for spec, reasons in sorted(self.missing.items())},
                "seconds": round(time.monotonic() - self.started, 3),
            }

    def summary(self) -> str:
        """``ipnpm: 812 packages · 640 store · 160 kubo · 12 upstream · 41 MB · 3.2 s``"""
        totals = self.totals()
        count = totals["packages"]
        parts = [f"{count} package{'' if count == 1 else 's'}"]
        parts += [f"{count} {source}" for source, count in totals["sources"].items()]
        parts.append(f"{totals['bytes'] / 1e6:.1f} MB")
        if totals["packuments"]:
            parts.append(f"{totals['packuments']} packuments")
        if totals["missing"]:
            parts.append(f"{len(totals['missing'])} missing")
        parts += self._private_parts()
        parts.append(f"{totals['seconds']:.1f} s")
        return "ipnpm: " + " · ".join(parts)

    def _private_parts(self) -> list[str]:
        """How many private tarballs stayed out of Kubo, and how many went in and why."""
        with self._lock:
            kept = len(self.kept_local)
            allowed = Counter(self.seeded_private.values())
        parts = [f"{kept} private kept local (not seeded)"] if kept else []
        return parts + [f"{n} private seeded ({why})" for why, n in sorted(allowed.items())]

    def cid_alone_report(self, shown: int = 10) -> list[str]:
        """A warning naming the packages verified by CID alone, and its fix (or nothing)."""
        with self._lock:
            specs = sorted(self.cid_alone)
        if not specs:
            return []
        more = f" and {len(specs) - shown} more" if len(specs) > shown else ""
        return [
            f"ipnpm: warning: {len(specs)} package(s) verified by CID alone, with no integrity "
            f"in package-lock.json: {', '.join(specs[:shown])}{more}. Only the CID in "
            "ipnpm-lock.json and the tarball's own package.json vouched for the bytes.",
            "  To have npm's integrity checked too, delete those entries from package-lock.json "
            "and run `npm install --package-lock-only` against a registry that gives integrity "
            "(npm never fills in the integrity of an entry it keeps).",
        ]

    def missing_report(self) -> list[str]:
        """One line per package no source could give, with every source's reason."""
        missing = self.totals()["missing"]
        if not missing:
            return []
        lines = [f"ipnpm: {len(missing)} package(s) could not be served:"]
        for spec, reasons in missing.items():
            lines.append(f"  {spec}: {'; '.join(reasons)}")
        return lines

    def __enter__(self) -> RunLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lines.put(None)
        self._writer.join()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
