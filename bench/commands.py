"""Run one whole command, timed, and fail loudly: a broken run must never yield a number."""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.npm_env import NpmEnv, describe

NPM_FLAGS = ("--ignore-scripts", "--no-audit", "--no-fund")
RESOLVE = ("install", "--package-lock-only", *NPM_FLAGS)  # package.json -> lockfile
REPO_ROOT = Path(__file__).resolve().parents[1]
COMMAND_TIMEOUT = 900.0


class BenchError(RuntimeError):
    """A command failed or left a wrong result: the run is not counted."""


@dataclass(frozen=True)
class Probe:
    """ipnpm's own process, measured by bench.rss_probe as it exited."""

    peak_rss: int  # bytes
    cpu_seconds: float  # user + system, every thread of ipnpm, npm not included


@dataclass(frozen=True)
class Measurement:
    seconds: float
    tree_cpu: float  # CPU seconds of the whole command: npm, ipnpm and their children
    probe: Probe | None = None  # when ipnpm ran
    daemon_cpu: float | None = None  # CPU seconds the Kubo daemons spent meanwhile
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finished:
    seconds: float
    cpu_seconds: float  # the command's process tree (every descendant it waited for)
    stdout: str
    stderr: str


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    allowed: Collection[int] = (0,),
    timeout: float = COMMAND_TIMEOUT,
) -> Finished:
    """Wall time of the whole command; BenchError if it exits with a code not allowed."""
    cpu_before = _children_cpu()
    began = time.perf_counter()
    result = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - began
    if result.returncode not in allowed:
        raise BenchError(describe(result)[-6000:])
    return Finished(seconds, _children_cpu() - cpu_before, result.stdout, result.stderr)


def npm(npm_env: NpmEnv, args: Sequence[str], cwd: Path) -> Measurement:
    finished = run_timed(["npm", *args], cwd, npm_env.env())
    return Measurement(finished.seconds, finished.cpu_seconds)


def ipnpm(
    npm_env: NpmEnv,
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    allowed: Collection[int] = (0,),
) -> tuple[Finished, Probe]:
    """ipnpm from this checkout, under bench.rss_probe (and the profiler, if one is set)."""
    out = cwd.parent / f".rss-{time.monotonic_ns()}.json"
    argv = [*_profiler, sys.executable, "-m", "bench.rss_probe", str(out), *args]
    finished = run_timed(argv, cwd, ipnpm_env(npm_env, **(env or {})), allowed=allowed)
    measured = json.loads(out.read_text())
    out.unlink()
    return finished, Probe(int(measured["peak_rss_bytes"]), float(measured["cpu_seconds"]))


_profiler: list[str] = []
_snapshot: list[str] = []  # a directory holding a frozen copy of the ipnpm package


def ipnpm_env(npm_env: NpmEnv, **overrides: str) -> dict[str, str]:
    """npm_env's environment, with ipnpm imported from the snapshot when one is taken."""
    env = npm_env.env(**overrides)
    if _snapshot:
        env["PYTHONPATH"] = os.pathsep.join([*_snapshot, env["PYTHONPATH"]])
    return env


@contextlib.contextmanager
def ipnpm_snapshot(directory: Path) -> Iterator[None]:
    """Run every ipnpm of the with block from a copy of ipnpm/ taken now: others may edit the
    working tree while a benchmark runs, and one run must measure one version.

    The copy is byte-compiled, as pip compiles a package it installs: run from bare sources
    under PYTHONDONTWRITEBYTECODE (set on the machines here), every ipnpm run would compile
    its modules anew, about 70 ms of CPU at each start that no installed ipnpm spends."""
    shutil.copytree(REPO_ROOT / "ipnpm", directory / "ipnpm")
    if not compileall.compile_dir(directory / "ipnpm", quiet=1):
        raise BenchError(f"could not byte-compile the ipnpm snapshot in {directory}")
    _snapshot[:] = [str(directory)]
    try:
        yield
    finally:
        _snapshot.clear()


@contextlib.contextmanager
def profiled(prefix: Sequence[str]) -> Iterator[None]:
    """Run every ipnpm of the with block under `prefix` (e.g. py-spy record ... --)."""
    _profiler[:] = prefix
    try:
        yield
    finally:
        _profiler.clear()
