"""The benchmark: `python -m bench.run [--quick] [--runs N] [--projects a,b] [--out DIR]
[--scenarios keys]`.

Builds its world on loopback once (bench/world.py), then for each project runs every scenario
once per round, rounds interleaved so that a slow spell of the shared machine hits every
scenario alike; then pass-through overhead and index resolution. Writes latest.json, latest.md
and a PNG per project to --out, and (full runs) the generated block of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, plot, report
from bench.commands import BenchError, ipnpm_snapshot
from bench.fleet import concurrent_ci, ipnpm_fleet, npm_fleet
from bench.index_bench import index_resolution
from bench.micro import passthrough
from bench.projects import Prepared, prepare
from bench.resolve_corpus import ensure_resolve_storage
from bench.results import RESOLVE_KEYS, ProjectResult, Results, Series
from bench.scenarios import ALL, INSTALLS, PAIRS, PREFETCHES, RESOLVES, Run, Scenario
from bench.slow_proxy import OFFICE, REMOTE
from bench.world import World, building_world
from tests.support.corpus import CORPUS_PROJECTS, CorpusError

REPO_ROOT = Path(__file__).resolve().parents[1]
GROUPS = {"install": INSTALLS, "resolve": RESOLVES, "prefetch": PREFETCHES}
QUICK_PROJECT = "tiny-actions-github"
INDEX_PROJECT = "xl-lerna-workspaces"


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _measure(
    series: Series, step: Run, project: Prepared, world: World, scratch: Path, *, round_: int
) -> None:
    scratch.mkdir(parents=True)
    # The last run's node_modules and caches reach the disk now, not during this run: the
    # kernel's write-back would otherwise land on whichever scenario comes next.
    os.sync()
    try:
        measured = step(project, world, scratch)
    except (BenchError, OSError, AssertionError, ValueError, KeyError) as exc:
        series.errors.append(f"{type(exc).__name__}: {exc}")
        _say(f"  {series.key}: FAILED {str(exc)[-2000:]}")
        return
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    series.seconds.append(measured.seconds)
    series.rounds.append(round_)
    series.tree_cpu.append(measured.tree_cpu)
    if measured.daemon_cpu is not None:
        series.daemon_cpu.append(measured.daemon_cpu)
    probe = measured.probe
    if probe is not None:
        series.peak_rss.append(probe.peak_rss)
        series.cpu_seconds.append(probe.cpu_seconds)
    if measured.extra:
        series.extra.append(dict(measured.extra))
    own = f", ipnpm {probe.cpu_seconds:.2f} s CPU, {probe.peak_rss / 1e6:.0f} MB" if probe else ""
    kubo = f", Kubo {measured.daemon_cpu:.2f} s CPU" if measured.daemon_cpu is not None else ""
    _say(f"  {series.key}: {measured.seconds:.2f} s, tree {measured.tree_cpu:.2f} s CPU{own}{kubo}")


def bench_project(
    world: World,
    prepared: Prepared,
    runs: int,
    work: Path,
    *,
    multi: bool,
    keys: frozenset[str] = frozenset(s.key for s in ALL),
) -> ProjectResult:
    result = ProjectResult(prepared.name, prepared.tarballs, runs)
    result.tarball_bytes = prepared.tarball_bytes
    if prepared.resolve_failure:
        result.notes.append(f"resolve scenarios not run: {prepared.resolve_failure}")
        _say(f"{prepared.name}: {result.notes[-1]}")
    scenarios = [
        s for s in ALL if s.key in keys and not (prepared.resolve_failure and s.key in RESOLVE_KEYS)
    ]
    result.series = {s.key: Series(s.key, s.label) for s in scenarios}
    for round_ in range(1, runs + 1):
        _say(f"{prepared.name}: round {round_}/{runs}")
        for scenario in round_order(scenarios, round_):
            scratch = work / "scratch" / f"{scenario.key}-{round_}"
            _measure(
                result.series[scenario.key], scenario.run, prepared, world, scratch, round_=round_
            )
    if multi:
        for key, step in MULTI:
            _say(f"{prepared.name}: {key}")
            scratch = work / "scratch" / key
            try:
                result.multi[key] = step(prepared, world, scratch)
            except (BenchError, OSError, AssertionError, ValueError, KeyError) as exc:
                result.multi[key] = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            _say(f"  {key}: {result.multi[key]}"[:400])
    return result


def round_order(scenarios: Sequence[Scenario], round_: int) -> list[Scenario]:
    """The scenarios of one round: each of PAIRS back to back, npm first in odd rounds and
    ipnpm first in even ones, so that a slow spell of the shared machine or whatever the
    scenario before left behind weighs on both sides of a paired target alike."""
    by_key = {s.key: s for s in scenarios}
    pair_of = {key: pair for pair in PAIRS for key in pair}
    order: list[Scenario] = []
    for scenario in scenarios:
        pair = pair_of.get(scenario.key)
        if pair is None or any(key not in by_key for key in pair):
            order.append(scenario)
        elif scenario.key == pair[0]:
            npm_side, ipnpm_side = (by_key[key] for key in pair)
            order += [npm_side, ipnpm_side] if round_ % 2 else [ipnpm_side, npm_side]
        # the ipnpm side of a pair comes with its npm side
    return order


MULTI = (
    ("npm-fleet", npm_fleet),
    ("ipnpm-fleet", ipnpm_fleet),
    ("concurrent-ci", concurrent_ci),
)


def _prepare(
    world: World, name: str, work: Path, *, installs: bool, resolves: str | None
) -> Prepared | str:
    began = time.monotonic()
    try:
        prepared = prepare(world, name, work / name, installs=installs, resolves=resolves)
    except (BenchError, OSError, KeyError, ValueError) as exc:
        _say(f"{name}: could not be prepared: {exc}")
        return f"could not be prepared: {type(exc).__name__}: {exc}"
    _say(f"{name}: prepared in {time.monotonic() - began:.0f} s ({prepared.tarballs} tarballs)")
    return prepared


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PROJECT} only, 2 runs")
    parser.add_argument("--runs", type=int, help="rounds per project (default 3; quick 2)")
    parser.add_argument("--xl-runs", type=int, help="rounds for xl-lerna-workspaces")
    parser.add_argument("--projects", help="comma-separated corpus projects (default all)")
    parser.add_argument("--pairs", type=int, help="pass-through pairs (default 30; quick 10)")
    parser.add_argument("--out", type=Path, help="results directory (default bench/results)")
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument(
        "--multi-projects",
        help="projects that also get the fleet and 8 concurrent ci (default tiny and medium; "
        "quick: tiny)",
    )
    parser.add_argument(
        "--scenarios",
        help="comma-separated scenario keys or groups (install, resolve, prefetch) to run each "
        "round (default all); when given, the fleet, index and pass-through runs are skipped",
    )
    args = parser.parse_args(argv)
    keys: set[str] = set()
    for item in (args.scenarios or "install,resolve,prefetch").split(","):
        if item in GROUPS:
            keys |= {s.key for s in GROUPS[item]}
        elif item in {s.key for s in ALL}:
            keys.add(item)
        elif item:
            parser.error(f"unknown scenario {item!r}; keys: {[s.key for s in ALL]}, or {[*GROUPS]}")
    args.keys = frozenset(keys)
    args.extras = args.scenarios is None  # fleet, index, pass-through
    default_projects = QUICK_PROJECT if args.quick else ",".join(CORPUS_PROJECTS)
    args.project_names = [p for p in (args.projects or default_projects).split(",") if p]
    unknown = set(args.project_names) - set(CORPUS_PROJECTS)
    if unknown:
        parser.error(f"unknown projects {sorted(unknown)}; choose from {CORPUS_PROJECTS}")
    default_multi = QUICK_PROJECT if args.quick else f"{QUICK_PROJECT},medium-vscode-esbuild"
    args.multi = set((args.multi_projects or default_multi).split(","))
    args.runs = args.runs or (2 if args.quick else 3)
    args.pairs = args.pairs or (10 if args.quick else 30)
    args.out = args.out or REPO_ROOT / "bench" / "results" / ("quick" if args.quick else "")
    return args


def _extras(results: Results, world: World, prepared: Prepared, work: Path, quick: bool) -> None:
    try:
        results.index = index_resolution(prepared, world, work / "index", 5 if quick else 10)
        _say(f"index: {results.index['median_seconds']:.3f} s for {results.index['tarballs']}")
    except (BenchError, OSError, AssertionError, ValueError, KeyError) as exc:
        results.index = {"errors": [f"{type(exc).__name__}: {exc}"]}
        _say(f"index: FAILED {exc}")


def run(args: argparse.Namespace, work: Path) -> Results:
    results = Results(
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        command="python -m bench.run " + " ".join(sys.argv[1:]),
        quick=args.quick,
        link="; ".join(link.describe() for link in (OFFICE, REMOTE)),
        machine=machine.describe(),
    )
    index_project = INDEX_PROJECT if INDEX_PROJECT in args.project_names else None
    index_project = index_project or args.project_names[-1]
    overlays, resolves = _resolve_extras(args.keys, args.project_names)
    installs = args.extras or bool(args.keys - RESOLVE_KEYS)
    world_built = building_world(work / "world", OFFICE, REMOTE, overlays=overlays)
    with ipnpm_snapshot(work / "snapshot"), world_built as world:
        for name in args.project_names:
            runs = args.xl_runs if args.xl_runs and name == INDEX_PROJECT else args.runs
            prepared = _prepare(
                world, name, work / "projects", installs=installs, resolves=resolves
            )
            if isinstance(prepared, str):
                results.projects[name] = ProjectResult(name, 0, runs, errors=[prepared])
                continue
            results.projects[name] = bench_project(
                world,
                prepared,
                runs,
                work / "projects",
                multi=args.extras and name in args.multi,
                keys=args.keys,
            )
            if args.extras and name == index_project:
                _extras(results, world, prepared, work, args.quick)
            shutil.rmtree(prepared.root, ignore_errors=True)
        if not args.extras:
            results.passthrough = results.index = {"skipped": "--scenarios"}
            return results
        _say("pass-through")
        try:
            results.passthrough = passthrough(world, work / "passthrough", args.pairs)
        except BenchError as exc:
            results.passthrough = {"errors": [str(exc)]}
    return results


def _resolve_extras(
    keys: frozenset[str], names: Sequence[str]
) -> tuple[tuple[Path, ...], str | None]:
    """(storages to overlay on the corpus, why nothing resolves: "" it can, None not asked)."""
    if not keys & RESOLVE_KEYS:
        return (), None
    try:
        return tuple(ensure_resolve_storage(name) for name in names), ""
    except (CorpusError, OSError) as exc:
        _say(f"resolve extras: FAILED {exc}")
        return (), f"no resolve extras: {str(exc).splitlines()[0]}"


def _publish(results: Results, out: Path, quick: bool) -> None:
    report.write(results, out)
    keys = [s.key for s in (*INSTALLS, *RESOLVES)]
    for project in results.projects.values():
        plot.plot_project(project, keys, out / f"{project.name}.png")
    if not quick and out.resolve().is_relative_to(REPO_ROOT):
        prefix = out.resolve().relative_to(REPO_ROOT).as_posix() + "/"
        report.update_benchmarks_md(results, REPO_ROOT / "BENCHMARKS.md", prefix)
    _say(f"wrote {out / 'latest.md'}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    began = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="ipnpm-bench-"))
    try:
        results = run(args, work)
    except Exception:
        traceback.print_exc()
        _say("the harness itself failed")
        return 2
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    results.wall_seconds = time.monotonic() - began
    results.machine["load at end"] = machine.load_average()
    results.machine["ipnpm commit at end"] = machine.ipnpm_commit()
    _publish(results, args.out, args.quick)
    print(report.markdown(results))
    for error in results.errors():
        _say(f"failed run (not counted): {error}")
    unmeasured = results.unmeasured()
    for what in unmeasured:
        _say(f"no figure at all for {what}")
    # Exit 1 only when something could not be measured at all; a single failed run among
    # several is reported above and in the results, and the figure stands on the others.
    return 1 if unmeasured else 0


if __name__ == "__main__":
    sys.exit(main())
