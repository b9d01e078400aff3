"""Which machine and which tools a run measured."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from tests.support.kubo import KUBO_VERSION
from tests.support.verdaccio import VERDACCIO_VERSION

REPO_ROOT = Path(__file__).resolve().parents[1]


def _first(path: str, prefix: str) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return "?"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)), "?")


def _output(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return result.stdout.strip() or "?"


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: how busy the shared machine was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def ipnpm_commit() -> str:
    """HEAD, marked when ipnpm/ has uncommitted changes (others may edit while a run goes)."""
    commit = _output(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _output(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "ipnpm"])
    return commit + (" (ipnpm/ modified)" if dirty not in ("", "?") else "")


def describe() -> dict[str, str]:
    memory_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(memory_kb) / 2**20:.1f} GiB" if memory_kb.isdigit() else "?"
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "nproc": str(os.cpu_count() or "?"),
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _output(["node", "--version"]),
        "npm": _output(["npm", "--version"]),
        "kubo": KUBO_VERSION,
        "verdaccio": VERDACCIO_VERSION,
        "load at start": load_average(),
        "ipnpm commit": ipnpm_commit(),
    }
