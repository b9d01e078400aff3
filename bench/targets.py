"""The issue's targets (P1-P11), computed from one run's results (ratios of the same run)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from bench.results import ProjectResult, Results
from bench.scenarios import PAIRS

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


def round_ratios(project: ProjectResult, top: str, bottom: str) -> list[float]:
    """top ÷ bottom round by round, for a pair run back to back (bench.scenarios.PAIRS);
    empty for any other two scenarios, whose rounds are minutes apart."""
    return project.paired_ratios(top, bottom) if (bottom, top) in PAIRS else []


def _ratio(project: ProjectResult, top: str, bottom: str) -> float | None:
    """The median of the round-by-round ratios for a pair, else the ratio of the medians."""
    paired = round_ratios(project, top, bottom)
    if paired:
        return statistics.median(paired)
    a, b = project.median(top), project.median(bottom)
    return a / b if a is not None and b else None


def _check(value: float | None, limit: float, *, at_most: bool) -> bool | None:
    if value is None:
        return None
    return value <= limit if at_most else value >= limit


_RATIOS = (
    # id, measure, numerator, denominator, limit, at_most
    ("P1w", "ipnpm ci warm store, cold npm cache ÷ npm ci --offline warm cache (pairs)",
     "ipnpm-store", "npm-offline", 1.05, True),
    ("P1", "ipnpm ci (LAN peer) ÷ npm ci --offline (warm cache)",
     "ipnpm-lan", "npm-offline", 1.10, True),
    ("P2", "npm ci (remote link) ÷ ipnpm ci (LAN peer)", "npm-remote", "ipnpm-lan", 3.0, False),
    ("P3", "ipnpm ci (LAN peer) ÷ npm ci (warm Verdaccio)",
     "ipnpm-lan", "npm-verdaccio", 0.8, True),
    ("P8", "first install, no Kubo, office link: ipnpm ci ÷ npm ci, cold caches (pairs)",
     "ipnpm-far", "npm-far", 1.05, True),
    ("P9", "resolve, office link: ipnpm ÷ npm install --package-lock-only, warm (pairs)",
     "ipnpm-resolve-warm", "npm-resolve-warm", 1.10, True),
)  # fmt: skip


def project_targets(project: ProjectResult) -> list[Target]:
    where = project.name
    targets = []
    for id_, what, top, bottom, limit, at_most in _RATIOS:
        if top not in project.series or bottom not in project.series:
            continue  # a scenario this project cannot run (noted in its section)
        value = _ratio(project, top, bottom)
        goal = f"{'≤' if at_most else '≥'} {limit:g}"
        targets.append(
            Target(id_, what, where, value, _x(value), goal, _check(value, limit, at_most=at_most))
        )
    return targets + _multi(project)


def _multi(project: ProjectResult) -> list[Target]:
    found: list[Target] = []
    fleet = project.multi.get("ipnpm-fleet")
    if fleet is not None:
        value = fleet.get("ratio")
        npm_fleet = project.multi.get("npm-fleet", {}).get("ratio")
        npm_said = f" (npm: {npm_fleet:.2f}x)" if npm_fleet else ""
        found.append(
            Target(
                "P10",
                "fleet of 4, remote link: bytes across the link ÷ tarball bytes",
                project.name,
                value,
                (_x(value) + npm_said) if value is not None else "—",
                "≤ 1.05",
                _check(value, 1.05, at_most=True),
            )
        )
    concurrent = project.multi.get("concurrent-ci")
    if concurrent is not None:
        most = concurrent.get("max_per_tarball")
        mean = concurrent.get("per_tarball")
        shown = "—" if most is None else f"{mean:.2f} (max {most})"
        found.append(
            Target(
                "P11",
                "8 concurrent ipnpm ci, one store: upstream downloads per tarball",
                project.name,
                None if most is None else float(most),
                shown,
                "= 1",
                None if most is None else most == 1,
            )
        )
    return found


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
    targets = [t for p in results.projects.values() for t in project_targets(p)]
    p4 = results.passthrough.get("median_difference_ms")
    targets.append(
        Target(
            "P4",
            "pass-through overhead, ipnpm run - npm run (median of pairs)",
            "",
            p4,
            "—" if p4 is None else f"{p4:.0f} ms",
            "≤ 20 ms",
            _check(p4, 20.0, at_most=True),
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
    # Installs (ci, prefetch) and resolves apart: a resolve holds full packuments, of another
    # size than tarball blocks; both are held to the goal, each in its own row.
    for key, resolves, what in (("P6", False, "install runs"), ("P6r", True, "resolve runs")):
        peak = largest.peak_rss(resolves=resolves) if largest else None
        p6 = peak[0] / MB if peak else None
        targets.append(
            Target(
                key,
                f"ipnpm's peak RSS over the {what} (highest: {peak[1]})"
                if peak
                else f"ipnpm's peak RSS over the {what}",
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
