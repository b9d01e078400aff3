"""The scenarios that are not a whole install: pass-through overhead (7) and prefetch
throughput from a local Kubo (8)."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.commands import BenchError, Measurement, ipnpm, ipnpm_env, run_timed
from bench.projects import Prepared
from bench.world import World
from tests.support.npm_env import NpmEnv

_NOOP_PROJECT = {
    "name": "ipnpm-bench-noop",
    "version": "1.0.0",
    "private": True,
    "scripts": {"noop": "true"},
}


def _pairs(
    plain: list[str], wrapped: list[str], project: Path, env: NpmEnv, pairs: int
) -> tuple[list[float], list[float]]:
    """Alternate the two commands (which goes first alternates too), after a warm-up each."""
    for argv in (plain, wrapped):  # page cache and bytecode: not what is measured
        run_timed(argv, project, ipnpm_env(env))
    plain_s: list[float] = []
    wrapped_s: list[float] = []
    for i in range(pairs):
        order = [(plain, plain_s), (wrapped, wrapped_s)]
        for argv, times in order if i % 2 == 0 else order[::-1]:
            times.append(run_timed(argv, project, ipnpm_env(env)).seconds)
    return plain_s, wrapped_s


def _median_difference_ms(plain: list[float], wrapped: list[float]) -> float:
    return statistics.median((b - a) * 1000 for a, b in zip(plain, wrapped, strict=True))


def passthrough(world: World, scratch: Path, pairs: int) -> dict[str, Any]:
    """`npm run noop` against `ipnpm run noop`; then the same with `true` as the npm, which
    takes node's own noise out and leaves ipnpm's start-up and exec alone."""
    env = NpmEnv(scratch / "env", registry=world.near_url)
    project = scratch / "noop"
    project.mkdir(parents=True)
    (project / "package.json").write_text(json.dumps(_NOOP_PROJECT, indent=2) + "\n")
    ipnpm_argv = [sys.executable, "-m", "ipnpm"]
    npm_s, ipnpm_s = _pairs(
        ["npm", "run", "noop"], [*ipnpm_argv, "run", "noop"], project, env, pairs
    )
    true = shutil.which("true") or "/bin/true"
    with_true = [*ipnpm_argv, "--ipnpm-npm", true, "run", "noop"]
    # An option ipnpm does not take goes to npm, which would then run the script itself and be
    # timed instead of `true` (the c0c1687 and d15f915 runs passed `--npm`): `true` prints nothing.
    if run_timed(with_true, project, ipnpm_env(env)).stdout.strip():
        raise BenchError(f"{' '.join(with_true)} ran npm, not {true}")
    true_s, ipnpm_true_s = _pairs([true, "run", "noop"], with_true, project, env, pairs)
    return {
        "npm_seconds": npm_s,
        "ipnpm_seconds": ipnpm_s,
        "median_difference_ms": _median_difference_ms(npm_s, ipnpm_s),
        "true_seconds": true_s,
        "ipnpm_true_seconds": ipnpm_true_s,
        "ipnpm_alone_ms": _median_difference_ms(true_s, ipnpm_true_s),
    }


def prefetch(project: Prepared, world: World, scratch: Path, jobs: int | None) -> Measurement:
    """`ipnpm --kubo <peer> ipfs fetch --json` into an empty store; every tarball from Kubo."""
    env = NpmEnv(scratch / "env", registry=world.far_url)
    tree = project.fresh(scratch / "project", world.far_url, cidlock=True)
    options = {"IPNPM_KUBO_API": world.peer.api_url, **({"IPNPM_JOBS": str(jobs)} if jobs else {})}
    daemons = world.daemons_cpu()
    finished, probe = ipnpm(env, ["ipfs", "fetch", "--json"], tree, env=options)
    daemons = world.daemons_cpu() - daemons
    totals = json.loads(finished.stdout)
    if totals["sources"] != {"kubo": totals["packages"]} or totals["packages"] < project.tarballs:
        raise BenchError(f"{project.name}: prefetch from Kubo incomplete: {totals}")
    extra = {
        "packages": totals["packages"],
        "bytes": totals["bytes"],
        "session_seconds": totals["seconds"],
    }
    return Measurement(finished.seconds, finished.cpu_seconds, probe, daemons, extra)
