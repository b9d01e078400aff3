"""Many clients at once, measured once per project (not per round: they are long):

- the fleet (P10): 4 clients, each with its own npm cache and ipnpm store, run `ci` at the same
  moment behind the one remote link. npm: each client downloads everything across the link.
  ipnpm: the clients use one `ipnpm ipfs serve` on their side of the link (the LAN peer) as
  their registry; it fetches each tarball across the link once. Reported: wall time of the
  whole fleet and the bytes that crossed the link, against the project's tarball bytes.
- concurrent runs on one store (P11): 8 `ipnpm ci` at the same moment, one shared store, the
  office link, no Kubo: how many times each tarball came from the upstream.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.commands import NPM_FLAGS, BenchError, ipnpm_env
from bench.projects import Prepared, verify_tree
from bench.world import World
from tests.support.npm_env import NpmEnv

FLEET = 4
CONCURRENT = 8
_TIMEOUT = 1800.0
_SERVE_START = 60.0


def _run_all(commands: Sequence[tuple[list[str], Path, dict[str, str]]]) -> float:
    """Start every command at once; the wall time until the last one ended."""
    began = time.perf_counter()
    processes = [
        subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for argv, cwd, env in commands
    ]
    failures = []
    for process in processes:
        out, _ = process.communicate(timeout=_TIMEOUT)
        if process.returncode != 0:
            failures.append(f"exit {process.returncode}: {out[-3000:]}")
    seconds = time.perf_counter() - began
    if failures:
        raise BenchError("; ".join(failures))
    return seconds


def _ipnpm_argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "ipnpm", *args]


def npm_fleet(project: Prepared, world: World, scratch: Path) -> dict[str, Any]:
    link = world.remote
    commands = []
    for i in range(FLEET):
        env = NpmEnv(scratch / f"npm-{i}", registry=link.url)
        tree = project.fresh(scratch / f"npm-{i}" / "project", link.url)
        commands.append((["npm", "ci", *NPM_FLAGS], tree, env.env()))
    before = link.bytes_sent
    seconds = _run_all(commands)
    crossed = link.bytes_sent - before
    for _, tree, _ in commands:
        verify_tree(project.name, tree)
    return _figures(project, seconds, crossed)


@contextlib.contextmanager
def _serving(env: NpmEnv, scratch: Path) -> Iterator[str]:
    """`ipnpm ipfs serve` (no Kubo, no token: loopback) with the remote link upstream."""
    log = (scratch / "serve.log").open("w")
    process = subprocess.Popen(
        _ipnpm_argv(["ipfs", "serve", "--no-auth"]),
        cwd=scratch,
        env=ipnpm_env(env, IPNPM_KUBO_API="off"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first.startswith("ipnpm: serving on "):
            raise BenchError(f"ipnpm ipfs serve did not start: {first!r}")
        yield first.removeprefix("ipnpm: serving on ").strip()
    finally:
        process.terminate()
        try:
            process.wait(_SERVE_START)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def ipnpm_fleet(project: Prepared, world: World, scratch: Path) -> dict[str, Any]:
    link = world.remote
    scratch.mkdir(parents=True, exist_ok=True)
    server_env = NpmEnv(scratch / "serve", registry=link.url)
    before = link.bytes_sent
    with _serving(server_env, scratch) as serve_url:
        commands = []
        for i in range(FLEET):
            env = NpmEnv(scratch / f"ipnpm-{i}", registry=serve_url)
            tree = project.fresh(scratch / f"ipnpm-{i}" / "project", link.url)
            run_env = ipnpm_env(env, IPNPM_KUBO_API="off")
            commands.append((_ipnpm_argv(["ci", *NPM_FLAGS]), tree, run_env))
        seconds = _run_all(commands)
    crossed = link.bytes_sent - before
    for _, tree, _ in commands:
        verify_tree(project.name, tree)
    return _figures(project, seconds, crossed)


def _figures(project: Prepared, seconds: float, crossed: int) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "bytes": crossed,
        "tarball_bytes": project.tarball_bytes,
        "ratio": crossed / project.tarball_bytes if project.tarball_bytes else None,
    }


def concurrent_ci(project: Prepared, world: World, scratch: Path) -> dict[str, Any]:
    """8 `ipnpm ci` at once on one store: upstream downloads per tarball, from the run logs."""
    store = scratch / "store"
    commands = []
    for i in range(CONCURRENT):
        env = NpmEnv(scratch / f"run-{i}", registry=world.far_url)
        tree = project.fresh(scratch / f"run-{i}" / "project", world.far_url)
        run_env = ipnpm_env(env, IPNPM_KUBO_API="off", IPNPM_STORE=str(store))
        commands.append((_ipnpm_argv(["ci", *NPM_FLAGS]), tree, run_env))
    seconds = _run_all(commands)
    for _, tree, _ in commands:
        verify_tree(project.name, tree)
    downloads = _upstream_downloads(store / "logs")
    if not downloads:
        raise BenchError("no upstream download recorded in the shared store's logs")
    return {
        "seconds": seconds,
        "runs": CONCURRENT,
        "tarballs": len(downloads),
        "downloads": sum(downloads.values()),
        "max_per_tarball": max(downloads.values()),
        "per_tarball": sum(downloads.values()) / len(downloads),
    }


def _upstream_downloads(logs: Path) -> Counter[str]:
    counted: Counter[str] = Counter()
    for path in logs.glob("run-*.jsonl"):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("event") == "tarball" and event.get("source") == "upstream":
                    counted[str(event.get("spec"))] += 1
    return counted
