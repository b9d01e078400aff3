"""The issue's targets P1-P7, computed from one run's results (ratios of the same run)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.results import ProjectResult, Results

MB = 1e6


@dataclass(frozen=True)
class Target:
    id: str
    what: str
    where: str  # a project, or "" for the machine-wide ones
    value: float | None
    shown: str  # the value as the report prints it
    goal: str
    passed: bool | None  # None: not measured (a scenario failed)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(project: ProjectResult, top: str, bottom: str) -> float | None:
    a, b = project.median(top), project.median(bottom)
    return a / b if a is not None and b else None


def _check(value: float | None, limit: float, *, at_most: bool) -> bool | None:
    if value is None:
        return None
    return value <= limit if at_most else value >= limit


def _per_project(project: ProjectResult) -> list[Target]:
    where = project.name
    p1 = _ratio(project, "ipnpm-lan", "npm-offline")
    p2 = _ratio(project, "npm-far", "ipnpm-lan")
    p3 = _ratio(project, "ipnpm-lan", "npm-verdaccio")
    return [
        Target(
            "P1",
            "ipnpm ci (LAN peer) ÷ npm ci --offline (warm cache)",
            where,
            p1,
            _x(p1),
            "≤ 1.15",
            _check(p1, 1.15, at_most=True),
        ),
        Target(
            "P2",
            "npm ci (far upstream) ÷ ipnpm ci (LAN peer)",
            where,
            p2,
            _x(p2),
            "≥ 3",
            _check(p2, 3.0, at_most=False),
        ),
        Target(
            "P3",
            "ipnpm ci (LAN peer) ÷ npm ci (warm Verdaccio)",
            where,
            p3,
            _x(p3),
            "≤ 0.8",
            _check(p3, 0.8, at_most=True),
        ),
    ]


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def prefetch_rate(project: ProjectResult, key: str = "prefetch") -> float | None:
    """Tarballs per second of the whole `ipnpm ipfs fetch` command (median run)."""
    median = project.median(key)
    series = project.series.get(key)
    if median is None or series is None or not series.extra:
        return None
    return float(series.extra[0]["packages"]) / median


def compute(results: Results) -> list[Target]:
    targets = [t for p in results.projects.values() for t in _per_project(p)]
    p4 = results.passthrough.get("median_difference_ms")
    targets.append(
        Target(
            "P4",
            "pass-through overhead, ipnpm run - npm run (median of pairs)",
            "",
            p4,
            "—" if p4 is None else f"{p4:.0f} ms",
            "≤ 40 ms",
            _check(p4, 40.0, at_most=True),
        )
    )
    largest = results.largest()
    p5 = prefetch_rate(largest) if largest else None
    targets.append(
        Target(
            "P5",
            "prefetch from a local Kubo, whole command",
            largest.name if largest else "",
            p5,
            "—" if p5 is None else f"{p5:.0f} tarballs/s",
            "≥ 300 tarballs/s",
            _check(p5, 300.0, at_most=False),
        )
    )
    peak = largest.peak_rss() if largest else None
    p6 = peak[0] / MB if peak else None
    targets.append(
        Target(
            "P6",
            f"ipnpm's peak RSS (highest run: {peak[1]})" if peak else "ipnpm's peak RSS",
            largest.name if largest else "",
            p6,
            "—" if p6 is None else f"{p6:.0f} MB",
            "≤ 100 MB",
            _check(p6, 100.0, at_most=True),
        )
    )
    p7 = results.index.get("median_seconds")
    targets.append(
        Target(
            "P7",
            f"CIDs for every tarball of the lockfile ({results.index.get('tarballs', '?')}) "
            "from a cached index",
            str(results.index.get("project", "")),
            p7,
            "—" if p7 is None else f"{p7:.3f} s",
            "≤ 0.5 s",
            _check(p7, 0.5, at_most=True),
        )
    )
    return targets
