"""What a benchmark run measured, as plain data: series of runs and their summaries."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

# Resolve scenarios a project may be unable to run (the resolve extras, bench/resolve_corpus.py,
# could not be filled): noted in the project, not an unmeasured failure of the harness.
RESOLVE_KEYS = frozenset(
    {"npm-resolve-warm", "ipnpm-resolve-warm", "npm-resolve-cold", "ipnpm-resolve-cold"}
)


@dataclass
class Series:
    """Several runs of one scenario: wall seconds, ipnpm's peak RSS, failures."""

    key: str
    label: str
    seconds: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)  # the round of each of ``seconds``
    peak_rss: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # ipnpm's own, not npm's
    tree_cpu: list[float] = field(default_factory=list)  # the command's whole process tree
    daemon_cpu: list[float] = field(default_factory=list)  # the Kubo daemons meanwhile
    extra: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": self.n,
            "median": self.median,
            "min": min(self.seconds, default=None),
            "max": max(self.seconds, default=None),
            "seconds": self.seconds,
            "rounds": self.rounds,
            "peak_rss_bytes": self.peak_rss,
            "ipnpm_cpu_seconds": self.cpu_seconds,
            "tree_cpu_seconds": self.tree_cpu,
            "kubo_cpu_seconds": self.daemon_cpu,
            "extra": self.extra,
            "errors": self.errors,
        }


@dataclass
class ProjectResult:
    name: str
    tarballs: int  # registry tarballs npm installs on this machine
    runs: int
    series: dict[str, Series] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # the project could not be prepared
    tarball_bytes: int = 0
    multi: dict[str, dict[str, Any]] = field(default_factory=dict)  # fleet, concurrent: once
    notes: list[str] = field(default_factory=list)

    def median(self, key: str) -> float | None:
        found = self.series.get(key)
        return found.median if found else None

    def paired_ratios(self, top: str, bottom: str) -> list[float]:
        """top ÷ bottom in each round where both ran."""
        a, b = self.series.get(top), self.series.get(bottom)
        if a is None or b is None:
            return []
        below = dict(zip(b.rounds, b.seconds, strict=True))
        return [t / below[r] for r, t in zip(a.rounds, a.seconds, strict=True) if below.get(r)]

    def peak_rss(self, *, resolves: bool) -> tuple[int, str] | None:
        """ipnpm's highest peak RSS over the install and prefetch runs of this project (or,
        ``resolves``, over its resolve runs), and in which scenario."""
        peaks = [
            (peak, s.key)
            for s in self.series.values()
            if (s.key in RESOLVE_KEYS) == resolves
            for peak in s.peak_rss
        ]
        return max(peaks) if peaks else None

    def as_json(self) -> dict[str, Any]:
        return {
            "tarballs": self.tarballs,
            "runs": self.runs,
            "tarball_bytes": self.tarball_bytes,
            "scenarios": {key: s.as_json() for key, s in self.series.items()},
            "multi": self.multi,
            "notes": self.notes,
            "errors": self.errors,
        }


@dataclass
class Results:
    started: str  # ISO date and time, UTC
    command: str
    quick: bool
    link: str  # every link, described
    machine: dict[str, str]
    projects: dict[str, ProjectResult] = field(default_factory=dict)
    passthrough: dict[str, Any] = field(default_factory=dict)
    index: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def largest(self) -> ProjectResult | None:
        return max(self.projects.values(), key=lambda p: p.tarballs, default=None)

    def errors(self) -> list[str]:
        found = [f"{p.name}: {e}" for p in self.projects.values() for e in p.errors]
        found += [
            f"{p.name} / {s.key}: {e.splitlines()[0] if e else e}"
            for p in self.projects.values()
            for s in p.series.values()
            for e in s.errors
        ]
        found += [
            f"{p.name} / {key}: {str(m['error']).splitlines()[0][:300]}"
            for p in self.projects.values()
            for key, m in p.multi.items()
            if "error" in m
        ]
        found += [f"passthrough: {e}" for e in self.passthrough.get("errors", [])]
        return found + [f"index: {e}" for e in self.index.get("errors", [])]

    def unmeasured(self) -> list[str]:
        """What has no figure at all: the harness could not measure it (not one run passed)."""
        missing = [
            f"{p.name} / {s.key}"
            for p in self.projects.values()
            for s in p.series.values()
            if s.n == 0 and not (s.key in RESOLVE_KEYS and p.notes)
        ]
        missing += [f"{p.name}: not prepared" for p in self.projects.values() if p.errors]
        if not {"median_difference_ms", "skipped"} & set(self.passthrough):
            missing.append("pass-through")
        if not {"median_seconds", "skipped"} & set(self.index):
            missing.append("index")
        return missing
