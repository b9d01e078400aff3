"""latest.json, latest.md and the generated part of BENCHMARKS.md."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.results import ProjectResult, Results, Series
from bench.targets import Target, compute, prefetch_rate, round_ratios

MB = 1e6
BEGIN = "<!-- bench:results:begin (written by `python -m bench.run`; edits here are lost) -->"
END = "<!-- bench:results:end -->"
_NUMBERS = {
    "npm-far": "1",
    "npm-remote": "1r",
    "npm-verdaccio": "2",
    "npm-offline": "3",
    "ipnpm-lan": "4",
    "ipnpm-store": "5",
    "ipnpm-far": "6",
    "prefetch": "8",
    "prefetch-jobs1": "8b",
    "npm-resolve-warm": "R1",
    "ipnpm-resolve-warm": "R2",
    "npm-resolve-cold": "R3",
    "ipnpm-resolve-cold": "R4",
}


def as_json(results: Results) -> dict[str, Any]:
    return {
        "started": results.started,
        "command": results.command,
        "quick": results.quick,
        "far_upstream": results.link,
        "machine": results.machine,
        "wall_seconds": results.wall_seconds,
        "projects": {name: p.as_json() for name, p in results.projects.items()},
        "passthrough": results.passthrough,
        "index": results.index,
        "targets": [t.as_json() for t in compute(results)],
        "notes": results.notes,
        "errors": results.errors(),
    }


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _row(series: Series) -> str:
    spread = (
        f"{min(series.seconds):.2f}-{max(series.seconds):.2f} s" if series.seconds else "failed"
    )
    rss = f"{max(series.peak_rss) / MB:.0f} MB" if series.peak_rss else ""
    cpu = " / ".join(
        f"{statistics.median(values):.1f}" if values else "-"
        for values in (series.tree_cpu, series.cpu_seconds, series.daemon_cpu)
    )
    number = _NUMBERS.get(series.key, "")
    failed = f" ({len(series.errors)} failed)" if series.errors else ""
    return (
        f"| {number} | {series.label} | {_seconds(series.median)} | {spread} "
        f"| {series.n}{failed} | {cpu} | {rss} |"
    )


def _ratio(project: ProjectResult, top: str, bottom: str) -> str:
    """The ratio of the medians; for a pair run back to back, each round's ratio too (the
    target is their median)."""
    a, b = project.median(top), project.median(bottom)
    if a is None or not b:
        return "—"
    paired = round_ratios(project, top, bottom)
    rounds = f" (round by round: {', '.join(f'{r:.2f}' for r in paired)})" if paired else ""
    return f"{a / b:.2f}x{rounds}"


def _project_section(project: ProjectResult, image_prefix: str) -> list[str]:
    lines = [
        f"### {project.name} ({project.tarballs} tarballs)",
        "",
        f"![{project.name}]({image_prefix}{project.name}.png)",
        "",
        "| # | scenario | median | min-max | n | CPU s: tree / ipnpm / Kubo | ipnpm peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_row(series) for series in project.series.values()]
    rate = prefetch_rate(project)
    serial = prefetch_rate(project, "prefetch-jobs1")
    prefetch = project.series.get("prefetch")
    megabytes = (
        float(prefetch.extra[0]["bytes"]) / MB / prefetch.median
        if prefetch and prefetch.extra and prefetch.median
        else None
    )
    lines += [
        "",
        f"- 5 ÷ 2 (warm store vs warm Verdaccio): {_ratio(project, 'ipnpm-store', 'npm-verdaccio')}"
        f"; 5 ÷ 3 (warm store vs the limit): {_ratio(project, 'ipnpm-store', 'npm-offline')}",
        f"- 6 ÷ 1 (first install through ipnpm vs plain npm, office link): "
        f"{_ratio(project, 'ipnpm-far', 'npm-far')}; 1r ÷ 1 (remote vs office link, npm): "
        f"{_ratio(project, 'npm-remote', 'npm-far')}",
    ]
    if "ipnpm-resolve-cold" in project.series:
        lines.append(
            f"- resolve R4 ÷ R3 (cold caches): "
            f"{_ratio(project, 'ipnpm-resolve-cold', 'npm-resolve-cold')}"
        )
    lines += _multi_lines(project) + [f"- note: {note}" for note in project.notes]
    if rate is not None and megabytes is not None:
        speedup = f"; {rate / serial:.1f}x the `--jobs 1` rate" if serial else ""
        lines.append(
            f"- prefetch: {rate:.0f} tarballs/s, {megabytes:.1f} MB/s (whole command){speedup}"
        )
    return [*lines, ""]


def _multi_lines(project: ProjectResult) -> list[str]:
    lines = []
    for tool in ("npm", "ipnpm"):
        fleet = project.multi.get(f"{tool}-fleet")
        if fleet and "error" not in fleet:
            lines.append(
                f"- fleet of 4 ({tool}{', through one ipnpm ipfs serve' if tool == 'ipnpm' else ''}"
                f", remote link, n=1): {fleet['seconds']:.1f} s for the fleet, "
                f"{fleet['bytes'] / MB:.1f} MB across the link = {fleet['ratio']:.2f}x the "
                f"{fleet['tarball_bytes'] / MB:.1f} MB of tarballs"
            )
    concurrent = project.multi.get("concurrent-ci")
    if concurrent and "error" not in concurrent:
        lines.append(
            f"- 8 concurrent ipnpm ci on one store (office link, n=1): {concurrent['seconds']:.1f}"
            f" s, {concurrent['downloads']} upstream downloads for {concurrent['tarballs']} "
            f"tarballs (max {concurrent['max_per_tarball']} per tarball)"
        )
    return lines


def _targets_table(targets: list[Target]) -> list[str]:
    lines = ["| target | measure | project | value | goal | result |", *["| --- " * 6 + "|"]]
    for t in targets:
        result = {True: "pass", False: "**miss**", None: "not measured"}[t.passed]
        lines.append(f"| {t.id} | {t.what} | {t.where} | {t.shown} | {t.goal} | {result} |")
    return [*lines, ""]


def _passthrough(results: Results) -> list[str]:
    found = results.passthrough
    if "median_difference_ms" not in found:
        return []
    npm_s, ipnpm_s = found["npm_seconds"], found["ipnpm_seconds"]
    return [
        "### Pass-through (7): `ipnpm run noop` vs `npm run noop`",
        "",
        f"{len(npm_s)} pairs, alternating: npm {sorted(npm_s)[len(npm_s) // 2] * 1000:.0f} ms, "
        f"ipnpm {sorted(ipnpm_s)[len(ipnpm_s) // 2] * 1000:.0f} ms (medians); median of the "
        f"paired differences {found['median_difference_ms']:.0f} ms. With `true` standing in "
        f"for npm (`ipnpm --ipnpm-npm true run noop` vs `true run noop`, node's noise out): "
        f"ipnpm's own start-up and exec cost {found['ipnpm_alone_ms']:.0f} ms (median of pairs).",
        "",
    ]


def _index(results: Results) -> list[str]:
    found = results.index
    if "median_seconds" not in found:
        return []
    return [
        "### Index (9): CIDs from a cached index",
        "",
        f"{found['project']}: {found['tarballs']} locked tarballs, {found['resolved']} found in "
        f"the index; first resolution through Kubo {found['first_seconds_through_kubo']:.2f} s; "
        f"from the cache (fresh index objects, no source) median {found['median_seconds']:.3f} s "
        f"over {len(found['seconds'])} runs (min {min(found['seconds']):.3f} s).",
        "",
    ]


def markdown(results: Results, image_prefix: str = "") -> str:
    machine = results.machine
    lines = [
        f"Run {results.started} UTC, {results.wall_seconds / 60:.1f} min"
        + (" (quick mode)" if results.quick else ""),
        "",
        f"Command: `{results.command}`",
        "",
        f"Machine: {machine['cpu']}, {machine['nproc']} cores, {machine['memory']} RAM, "
        f"Linux {machine['kernel']}; Python {machine['python']}, Node {machine['node']}, "
        f"npm {machine['npm']}, Kubo {machine['kubo']}, Verdaccio {machine['verdaccio']}; "
        f"ipnpm at {machine['ipnpm commit']}, copied at the start and run from that copy "
        f"(HEAD at the end: {machine.get('ipnpm commit at end', '?')}). "
        "Load average (1, 5, 15 min) at the start "
        f"{machine['load at start']}, at the end {machine.get('load at end', '?')}: the machine "
        "is shared, so absolute seconds are noise and the ratios (same run, rounds interleaved) "
        "are the figures.",
        "",
        f"Links (bench/slow_proxy.py in front of the corpus Verdaccio): {results.link}.",
        "",
        "#### Targets",
        "",
        *_targets_table(compute(results)),
    ]
    for project in results.projects.values():
        lines += _project_section(project, image_prefix)
    lines += _passthrough(results) + _index(results)
    if results.notes:
        lines += ["Notes:", "", *[f"- {note}" for note in results.notes], ""]
    errors = results.errors()
    if errors:
        lines += ["Failed runs (not counted):", "", *[f"- {e}" for e in errors], ""]
    return "\n".join(lines)


def write(results: Results, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(as_json(results), indent=2) + "\n")
    (out / "latest.md").write_text("# ipnpm benchmark: latest run\n\n" + markdown(results))


def update_benchmarks_md(results: Results, path: Path, image_prefix: str) -> None:
    """Replace the generated block of BENCHMARKS.md; everything around it is kept."""
    block = f"{BEGIN}\n\n{markdown(results, image_prefix)}\n{END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, found, rest = text.partition(BEGIN)
    if not found:
        head, rest = text.rstrip() + "\n\n", f"\n{END}\n"
    _, _, tail = rest.partition(END)
    path.write_text(head + block + tail)
